package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Stderr, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "delayproxy:", err)
		os.Exit(1)
	}
}

type config struct {
	listen, to    string
	delay, jitter time.Duration
	seed          uint64
}

func run(ctx context.Context, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("delayproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.listen, "listen", "127.0.0.1:55433", "address to listen on (loopback only)")
	fs.StringVar(&c.to, "to", "127.0.0.1:55432", "address to forward to (loopback only)")
	fs.DurationVar(&c.delay, "delay", 10*time.Millisecond, "one-way delay added to every chunk")
	fs.DurationVar(&c.jitter, "jitter", 2*time.Millisecond, "uniform jitter in [0, jitter) added to the delay (order is kept)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the jitter")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.delay < 0 || c.jitter < 0 {
		return errors.New("negative delay or jitter")
	}
	for _, a := range []string{c.listen, c.to} {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			return err
		}
		if !ap.Addr().IsLoopback() {
			return fmt.Errorf("%s is not a loopback address", a)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "delayproxy: %s -> %s, one-way delay %v + [0, %v)\n", c.listen, c.to, c.delay, c.jitter)
	return serve(ctx, ln, c, stderr)
}

// serve proxies every connection accepted on ln to c.to until ctx ends,
// then closes ln and waits for the open connections.
func serve(ctx context.Context, ln net.Listener, c config, stderr io.Writer) error {
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := uint64(0); ; n++ {
		in, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := proxy(ctx, in, c, n); err != nil {
				fmt.Fprintf(stderr, "delayproxy: connection %d: %v\n", n, err)
			}
		}()
	}
}

// proxy forwards one connection in both directions until both are done.
func proxy(ctx context.Context, in net.Conn, c config, n uint64) error {
	defer in.Close()
	out, err := net.Dial("tcp", c.to)
	if err != nil {
		return err
	}
	defer out.Close()
	// Closing both ends on cancellation unblocks the pumps.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			in.Close()
			out.Close()
		case <-done:
		}
	}()
	errs := make(chan error, 2)
	go func() { errs <- pump(out, in, c, rand.New(rand.NewPCG(c.seed, 2*n))) }()
	go func() { errs <- pump(in, out, c, rand.New(rand.NewPCG(c.seed, 2*n+1))) }()
	err = <-errs
	if err2 := <-errs; err == nil {
		err = err2
	}
	return err
}

type chunk struct {
	due  time.Time
	data []byte
}

// pump copies src to dst, each chunk read written at its read time plus
// the delay and jitter, never before the previous chunk. A closed source
// half-closes dst after the last chunk.
func pump(dst, src net.Conn, c config, rng *rand.Rand) error {
	q := make(chan chunk, 1024)
	rerr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(q)
		var last time.Time
		for {
			buf := make([]byte, 64<<10)
			k, err := src.Read(buf)
			if k > 0 {
				d := c.delay
				if c.jitter > 0 {
					d += time.Duration(rng.Int64N(int64(c.jitter)))
				}
				due := time.Now().Add(d)
				if due.Before(last) {
					due = last
				}
				last = due
				select {
				case q <- chunk{due: due, data: buf[:k]}:
				case <-stop: // the writer failed
					return
				}
			}
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					err = nil
				}
				rerr <- err
				return
			}
		}
	}()
	for ch := range q {
		time.Sleep(time.Until(ch.due))
		if _, err := dst.Write(ch.data); err != nil {
			return err
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	return <-rerr
}
