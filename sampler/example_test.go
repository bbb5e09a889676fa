package sampler_test

import (
	"fmt"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// Fit a baseline once and draw a few turns for the server side answering a
// three-packet client burst.
func ExampleFit() {
	conv, err := trace.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sampler.Names())
	m, err := sampler.Fit("markov", conv)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := m.New(42)
	turns := make([]sampler.Turn, 3)
	// Three conversations, each where the client just sent three packets.
	convs := make([]*sampler.Conv, 3)
	for i := range convs {
		convs[i] = sampler.NewConv(uint64(i + 1))
		convs[i].H.Observe(trace.Client, features.Burst{Count: 3, Bytes: 300, GapNS: -1})
	}
	if err := s.TurnsTo(turns, trace.Server, convs); err != nil {
		fmt.Println(err)
		return
	}
	valid := true
	for _, t := range turns {
		valid = valid && t.Count >= 1 && t.GapNS >= 0
	}
	fmt.Println(s.Name(), len(turns), valid)
	// Output:
	// [bootstrap markov normal poisson]
	// markov 3 true
}
