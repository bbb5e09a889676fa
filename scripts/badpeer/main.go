package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/spatgan/spatgan/simulate"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7499", "UDP address to answer on")
	mode := flag.String("mode", "version", "version, fingerprint, limit, time or magic")
	flag.Parse()
	if err := run(*listen, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "badpeer:", err)
		os.Exit(1)
	}
}

func run(listen, mode string) error {
	addr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1<<16)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return err
		}
		h, err := simulate.DecodeHeader(buf[:n])
		if err != nil || h.Flags&simulate.FlagHandshake == 0 {
			continue
		}
		hello, err := simulate.DecodeHello(buf[simulate.HeaderLen:n])
		if err != nil {
			continue
		}
		answer, err := craft(mode, h.Conv, hello)
		if err != nil {
			return err
		}
		if _, err := c.WriteToUDP(answer, from); err != nil {
			return err
		}
	}
}

func craft(mode string, conv uint32, hello simulate.Hello) ([]byte, error) {
	ack := func(m simulate.Hello, sendNS int64) []byte {
		b := make([]byte, simulate.HeaderLen)
		b, _ = simulate.AppendHello(b, m)
		h := simulate.Header{Flags: simulate.FlagHandshake | simulate.FlagAck, Side: 0, Conv: conv, Length: uint16(len(b)), SendNS: sendNS}
		_ = h.Encode(b)
		return b
	}
	switch mode {
	case "version":
		b := ack(hello, 1)
		b[2] = 2
		return b, nil
	case "fingerprint":
		hello.Fingerprint = "another-model"
		return ack(hello, 1), nil
	case "limit":
		b := ack(hello, 1)
		// The duration limit field: header, fingerprint length byte and
		// fingerprint, then the packet limit (8 bytes).
		off := simulate.HeaderLen + 1 + len(hello.Fingerprint) + 8
		binary.BigEndian.PutUint64(b[off:], 1<<63)
		return b, nil
	case "time":
		b := ack(hello, 1)
		binary.BigEndian.PutUint64(b[20:], 10_413_792_000_000_000_000) // 2300-01-01
		return b, nil
	case "magic":
		return []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}
