package trace_test

import (
	"fmt"

	"github.com/spatgan/spatgan/trace"
)

// The embedded Skype call and the sizes of its model tables (the counts
// are derived in trace/testdata/skype_reference.txt).
func ExampleDefault() {
	c, err := trace.Default()
	if err != nil {
		panic(err)
	}
	fmt.Println("server", c.Server, "client", c.Client, len(c.Packets), "packets,", c.ClockSteps, "clock step")
	for _, side := range []trace.Side{trace.Server, trace.Client} {
		fmt.Println(side, len(c.BurstRows(side)), "burst rows,", len(c.PacketRows(side)), "packet rows")
	}
	train, test, err := c.SplitAt(0.8)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(train.Packets)+len(test.Packets) == len(c.Packets))
	// Output:
	// server 124.123.243.15 client 192.168.1.133 40697 packets, 1 clock step
	// server 5406 burst rows, 16421 packet rows
	// client 5407 burst rows, 24271 packet rows
	// true
}
