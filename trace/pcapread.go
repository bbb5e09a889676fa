package trace

import (
	"bufio"
	"errors"
)

// Placeholders until the pcap readers land (next commit).
func newPcapSource(br *bufio.Reader, name string) (recordSource, error) {
	return nil, &Error{File: name, Err: errors.New("pcap reading is not implemented yet")}
}

func newPcapNGSource(br *bufio.Reader, name string) (recordSource, error) {
	return nil, &Error{File: name, Err: errors.New("pcapng reading is not implemented yet")}
}
