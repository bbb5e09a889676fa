package trace_test

import (
	"fmt"

	"github.com/spatgan/spatgan/trace"
)

// The embedded Skype call, its bursts and a split in time (the counts are
// derived in trace/testdata/skype_reference.txt).
func ExampleDefault() {
	c, err := trace.Default()
	if err != nil {
		panic(err)
	}
	fmt.Println("server", c.Server, "client", c.Client, len(c.Packets), "packets,", c.ClockSteps, "clock step")
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		fmt.Println(side, len(c.BurstLengths(side)), "bursts,", c.Count(side), "packets")
	}
	train, test, err := c.SplitAt(0.8)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(train.Packets)+len(test.Packets) == len(c.Packets))
	// Output:
	// server 124.123.243.15 client 192.168.1.133 40697 packets, 1 clock step
	// server 5407 bursts, 16424 packets
	// client 5408 bursts, 24273 packets
	// true
}
