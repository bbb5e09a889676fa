package trace

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Endpoint is an address with an optional port (Port 0 = any).
type Endpoint struct {
	Addr netip.Addr
	Port uint16
}

// ParseEndpoint parses "ADDR", "ADDR:PORT" or "[V6ADDR]:PORT". A bare IPv6
// address without brackets is accepted without a port. Port 0 means any port.
func ParseEndpoint(s string) (Endpoint, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Endpoint{}, fmt.Errorf("trace: empty endpoint")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Endpoint{}, fmt.Errorf("trace: endpoint %q: zoned addresses are not supported", s)
		}
		return Endpoint{Addr: a.Unmap()}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("trace: endpoint %q: want ADDR, ADDR:PORT or [V6ADDR]:PORT", s)
	}
	if ap.Addr().Zone() != "" {
		return Endpoint{}, fmt.Errorf("trace: endpoint %q: zoned addresses are not supported", s)
	}
	return Endpoint{Addr: ap.Addr().Unmap(), Port: ap.Port()}, nil
}

// String formats e as ADDR, ADDR:PORT or [V6ADDR]:PORT (the port only when
// non-zero), the forms ParseEndpoint accepts.
func (e Endpoint) String() string {
	if !e.Addr.IsValid() {
		return "?"
	}
	if e.Port == 0 {
		return e.Addr.String()
	}
	if e.Addr.Is6() {
		return "[" + e.Addr.String() + "]:" + strconv.Itoa(int(e.Port))
	}
	return e.Addr.String() + ":" + strconv.Itoa(int(e.Port))
}

// Matches reports whether a packet address and port belong to e: the
// addresses are equal and e's port is 0 (any) or equal to port.
func (e Endpoint) Matches(addr netip.Addr, port uint16) bool {
	return e.Addr == addr && (e.Port == 0 || e.Port == port)
}

// compare orders endpoints by address, then port.
func (e Endpoint) compare(o Endpoint) int {
	if c := e.Addr.Compare(o.Addr); c != 0 {
		return c
	}
	switch {
	case e.Port < o.Port:
		return -1
	case e.Port > o.Port:
		return 1
	}
	return 0
}
