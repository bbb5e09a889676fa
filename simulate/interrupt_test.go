package simulate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestInterruptTellsPeer stops one live agent (as SIGINT or SIGTERM does,
// by cancelling its context) for each transport and each side: the stopped
// side says goodbye (Bye over UDP, Bye then an orderly close over TCP), and
// the peer ends at once (well under its 5 s PeerTimeout) without an error,
// its conversation ended by "peer bye"; both recordings are complete.
func TestInterruptTellsPeer(t *testing.T) {
	for _, tr := range []Transport{UDP, TCP} {
		for _, stopped := range []string{"server", "client"} {
			t.Run(fmt.Sprintf("%v/%s stopped", tr, stopped), func(t *testing.T) {
				interruptOne(t, tr, stopped)
			})
		}
	}
}

func interruptOne(t *testing.T, tr Transport, stopped string) {
	dir := t.TempDir()
	srv, cli := toyConfig(3, 2e6, 5e5), toyConfig(3, 2e6, 5e5)
	srv.Transport, cli.Transport = tr, tr
	srec, err := NewFileRecorder(filepath.Join(dir, "server.pcap"), filepath.Join(dir, "server.csv"), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	crec, err := NewFileRecorder(filepath.Join(dir, "client.pcap"), filepath.Join(dir, "client.csv"), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	srv.Recorder, cli.Recorder = srec, crec
	s, err := Listen("127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	// The stopped side's context is cancelled after 600 ms; the peer's
	// would only end at 20 s.
	stopCtx, stop := context.WithCancel(context.Background())
	defer stop()
	peerCtx, peerCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer peerCancel()
	sctx, cctx := peerCtx, stopCtx
	if stopped == "server" {
		sctx, cctx = stopCtx, peerCtx
	}
	var stoppedAt time.Time
	time.AfterFunc(600*time.Millisecond, func() { stoppedAt = time.Now(); stop() })
	var wg sync.WaitGroup
	var srep, crep *Report
	var serr, cerr error
	var sEnd, cEnd time.Time
	wg.Add(2)
	go func() { defer wg.Done(); srep, serr = s.Serve(sctx); sEnd = time.Now() }()
	go func() { defer wg.Done(); crep, cerr = Dial(cctx, s.Addr().String(), cli); cEnd = time.Now() }()
	wg.Wait()
	if err := srec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := crec.Close(); err != nil {
		t.Fatal(err)
	}
	stoppedErr, peerErr, peerRep, peerEnd := serr, cerr, crep, cEnd
	if stopped == "client" {
		stoppedErr, peerErr, peerRep, peerEnd = cerr, serr, srep, sEnd
	}
	if !errors.Is(stoppedErr, ErrInterrupted) {
		t.Fatalf("stopped %s: error %v, want ErrInterrupted", stopped, stoppedErr)
	}
	if peerErr != nil {
		t.Fatalf("peer of the stopped %s: error %v, want none", stopped, peerErr)
	}
	if len(peerRep.Convs) != 1 || peerRep.Convs[0].End != "peer bye" {
		t.Fatalf("peer's conversations %+v, want one ended by peer bye", peerRep.Convs)
	}
	if d := peerEnd.Sub(stoppedAt); d > 2*time.Second {
		t.Fatalf("peer ended %v after the stop, want at once", d)
	}
	for _, side := range []string{"client", "server"} {
		rep := crep
		if side == "server" {
			rep = srep
		}
		tot := rep.Totals()
		rows := readFlow(t, filepath.Join(dir, side+".csv"))
		frames := readPcapFrames(t, filepath.Join(dir, side+".pcap"))
		if tot.Sent+tot.Received == 0 || int64(len(rows)) != tot.Sent+tot.Received || len(frames) != len(rows) {
			t.Fatalf("%s: %d rows, %d frames, %d packets in the report", side, len(rows), len(frames), tot.Sent+tot.Received)
		}
	}
}
