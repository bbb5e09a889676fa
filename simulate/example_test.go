package simulate_test

import (
	"context"
	"fmt"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
)

// Generate a conversation offline with a baseline fitted on the embedded
// Skype call.
func ExampleGenerate() {
	conv, err := trace.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := sampler.New("markov", conv, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	var first trace.Packet
	st, err := simulate.Generate(context.Background(), s, simulate.GenOptions{Packets: 1000}, func(e simulate.Event) error {
		if e.Header.Seq == 0 && e.Packet.From == trace.Client {
			first = e.Packet
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Packets, "packets; the client starts:", first.From)
	// Output: 1000 packets; the client starts: client
}

// The in-band header of a synthetic packet: a 100-byte UDP/IPv4 frame
// carries a 58-byte message.
func ExampleHeader() {
	fr := simulate.Framing{Transport: simulate.UDP}
	msg := make([]byte, fr.MessageLen(100))
	h := simulate.Header{Flags: simulate.FlagLast, Length: uint16(len(msg)), Side: 1, Conv: 1, Seq: 7, Burst: 2}
	if err := h.Encode(msg); err != nil {
		fmt.Println(err)
		return
	}
	back, err := simulate.DecodeHeader(msg)
	fmt.Println(len(msg), back.Seq, back.Burst, back.Flags&simulate.FlagLast != 0, err)
	// Output: 58 7 2 true <nil>
}
