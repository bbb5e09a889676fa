package features_test

import (
	"fmt"

	"github.com/spatgan/spatgan/features"
	"github.com/spatgan/spatgan/trace"
)

// The sizes of the embedded Skype call's training tables (the counts are
// derived independently in trace/testdata/skype_reference.txt).
func ExampleCount() {
	c, err := trace.Default()
	if err != nil {
		panic(err)
	}
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		n := features.Count(c, side)
		fmt.Println(side, n.Turns, "turn rows,", n.Packets, "packet rows,", n.TurnsLeftOut+n.PacketsLeftOut, "left out for the clock step")
	}
	// Output:
	// server 5406 turn rows, 16421 packet rows, 4 left out for the clock step
	// client 5407 turn rows, 24271 packet rows, 1 left out for the clock step
}
