package sampler_test

import (
	"fmt"

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
	conds := []trace.Cond{{OppCount: 3}, {OppCount: 3}, {OppCount: 3}}
	if err := s.TurnsTo(turns, trace.Server, conds); err != nil {
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
