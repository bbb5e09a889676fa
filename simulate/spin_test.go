package simulate

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestSpinBudgetBoundsSpinners(t *testing.T) {
	var b spinBudget
	b.max.Store(2)
	if !b.acquire() || !b.acquire() {
		t.Fatal("two slots of two: acquire refused")
	}
	if b.acquire() {
		t.Fatal("third spinner admitted with a budget of two")
	}
	b.release()
	if !b.acquire() {
		t.Fatal("a released slot was not given again")
	}
	if got := b.busy.Load(); got != 2 {
		t.Fatalf("busy = %d, want 2", got)
	}
}

// A conversation that finds every spinning slot taken still waits for its
// deadline (sleeping), and a free slot is used and given back.
func TestWaitUntilWithoutSpinSlot(t *testing.T) {
	defer func(old int32) { spinners.max.Store(old) }(spinners.max.Load())
	spinners.max.Store(1)
	cfg := Config{FineSleep: DefaultFineSleep, Spin: 300 * time.Microsecond}
	c := &conv{cfg: &cfg, clk: newClock(), in: make(chan inbound), timer: time.NewTimer(time.Hour)}
	for _, held := range []bool{true, false} {
		if held && !spinners.acquire() {
			t.Fatal("no free slot before the test")
		}
		deadline := c.clk.now() + int64(2*time.Millisecond)
		if err := c.waitUntil(context.Background(), deadline); err != nil {
			t.Fatal(err)
		}
		if now := c.clk.now(); now < deadline {
			t.Fatalf("slot held %v: returned %v before the deadline", held, time.Duration(deadline-now))
		}
		if held {
			spinners.release()
		}
		if got := spinners.busy.Load(); got != 0 {
			t.Fatalf("slot held %v: %d slots busy after the wait, want 0", held, got)
		}
	}
}

// One processor leaves no spinning slot: a busy loop would hold the only
// processor and stop every other goroutine of the agent.
func TestNoSpinnerOnOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var b spinBudget
	if b.acquire() {
		t.Fatal("a spinning slot with GOMAXPROCS 1")
	}
}
