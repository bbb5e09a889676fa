package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestDelay sends lines through the proxy to a loopback echo server: every
// reply comes back intact, in order, and no sooner than two one-way delays
// after its request.
func TestDelay(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const delay = 15 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, config{to: echo.Addr().String(), delay: delay, jitter: 5 * time.Millisecond, seed: 1}, io.Discard)
	}()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, msg := range []string{"a\n", "bb\n", "a longer line\n"} {
		start := time.Now()
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 2*delay {
			t.Errorf("%q came back after %v, want at least %v", msg, rtt, 2*delay)
		}
		if got != msg {
			t.Errorf("got %q, want %q", got, msg)
		}
	}
	c.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	err := run(context.Background(), io.Discard, []string{"-to", "192.0.2.1:5432"})
	if err == nil {
		t.Fatal("a non-loopback target was accepted")
	}
}
