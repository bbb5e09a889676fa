package tsne

import (
	"sync"
	"sync/atomic"
)

// chunk is the number of consecutive items a worker takes at a time.
const chunk = 256

// parallelFor calls fn on consecutive ranges [lo, hi) covering [0, n),
// spread over the given number of goroutines. Ranges are handed out
// dynamically so that uneven work balances; fn must only write to per-item
// state (or to state owned by the worker index w) so that the result does
// not depend on the scheduling.
func parallelFor(n, workers int, fn func(w, lo, hi int)) {
	if workers <= 1 || n <= chunk {
		fn(0, 0, n)
		return
	}
	workers = min(workers, (n+chunk-1)/chunk)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				fn(w, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}
