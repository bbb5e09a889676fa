package trace

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Conversation is one two-party conversation, packets in file order, each
// tagged with its sender side.
type Conversation struct {
	Server, Client Endpoint
	Proto          string   // "udp", "tcp" or "any"
	Source         string   // file name, or "embedded:skype_eth_5"
	Packets        []Packet // file order; out-of-order timestamps kept, counted in ClockSteps
	ClockSteps     int      // number of packets whose timestamp is earlier than the previous packet's
	// Truncated is the error about the record the file ends inside when
	// the capture was cut short and read up to its last whole record (see
	// ErrTruncated); nil for a whole file.
	Truncated error
}

// Select chooses a conversation in a capture. The zero Select picks the
// busiest two-way address pair over all protocols.
type Select struct {
	// Server and Client are "ADDR", "ADDR:PORT" or "[V6ADDR]:PORT"; empty
	// means chosen automatically (the busiest two-way peer of the other, or
	// the busiest two-way pair when both are empty).
	Server, Client string
	// Proto is "udp", "tcp" or "any"; empty means any. Only packets of this
	// protocol are selected, and counted when choosing automatically.
	Proto string
	// Strict refuses a capture cut short (ErrTruncated) instead of reading
	// it up to its last whole record.
	Strict bool
}

// ConvStats summarises one conversation of a capture, like a line of
// `tshark -z conv`.
type ConvStats struct {
	// A sent the first packet seen between the two, B is the other
	// endpoint. Ports are zero unless the listing is by ports, or the two
	// addresses are equal (traffic of a host with itself, told apart by
	// ports).
	A, B Endpoint
	// Proto is the transport protocol (6 or 17) when the listing is by
	// ports, else 0 (all IP protocols).
	Proto   uint8
	Packets [2]int   // [0] A->B, [1] B->A
	Bytes   [2]int64 // frame bytes, same order
	FirstTS int64    // smallest timestamp, ns
	LastTS  int64    // largest timestamp, ns
	UDP     int      // packets carrying UDP (both directions)
	TCP     int      // packets carrying TCP
	Other   int      // packets with another IP protocol
}

// TwoWay reports whether both directions have packets.
func (s *ConvStats) TwoWay() bool { return s.Packets[0] > 0 && s.Packets[1] > 0 }

// Total returns the packets in both directions.
func (s *ConvStats) Total() int { return s.Packets[0] + s.Packets[1] }

// Listing is the result of scanning a capture: file totals and every
// conversation, busiest first.
type Listing struct {
	File   string
	Format Format
	ScanStats
	Convs []ConvStats
	// Truncated is as Conversation.Truncated.
	Truncated error
}

// ListOptions controls List.
type ListOptions struct {
	// Ports lists conversations by (protocol, address:port) pairs instead of
	// address pairs, like `tshark -z conv,udp` and `conv,tcp` together.
	Ports bool
	// Proto restricts the listing to "udp", "tcp" or "any" (empty = any).
	Proto string
	// Strict refuses a capture cut short, as Select.Strict.
	Strict bool
}

type convKey struct {
	lo, hi Endpoint
	proto  uint8
}

// tabulator accumulates conversations record by record.
type tabulator struct {
	ports bool
	proto uint8 // 0 = any
	index map[convKey]int
	convs []ConvStats
	// last is a one-entry cache in front of index: consecutive packets
	// mostly belong to the same conversation.
	last    convKey
	lastIdx int
}

func newTabulator(opt ListOptions) (*tabulator, error) {
	p, _, err := parseProto(opt.Proto)
	if err != nil {
		return nil, err
	}
	return &tabulator{ports: opt.Ports, proto: p, index: make(map[convKey]int)}, nil
}

func (t *tabulator) add(r *Record) {
	if r.Kind != KindIP || (t.proto != 0 && r.Proto != t.proto) {
		return
	}
	src, dst := Endpoint{Addr: r.Src}, Endpoint{Addr: r.Dst}
	var proto uint8
	if t.ports || r.Src == r.Dst {
		src.Port, dst.Port, proto = r.SrcPort, r.DstPort, r.Proto
	}
	k := convKey{lo: src, hi: dst, proto: proto}
	if src.compare(dst) > 0 {
		k.lo, k.hi = dst, src
	}
	i, ok := t.lastIdx, len(t.convs) > 0 && k == t.last
	if !ok {
		i, ok = t.index[k]
	}
	t.last, t.lastIdx = k, i
	if !ok {
		i = len(t.convs)
		t.index[k] = i
		t.lastIdx = i
		t.convs = append(t.convs, ConvStats{A: src, B: dst, Proto: proto, FirstTS: r.TS, LastTS: r.TS})
	}
	c := &t.convs[i]
	d := 0
	if src != c.A {
		d = 1
	}
	c.Packets[d]++
	c.Bytes[d] += int64(r.Size)
	c.FirstTS = min(c.FirstTS, r.TS)
	c.LastTS = max(c.LastTS, r.TS)
	switch r.Proto {
	case protoUDP:
		c.UDP++
	case protoTCP:
		c.TCP++
	default:
		c.Other++
	}
}

func (t *tabulator) sorted() []ConvStats {
	out := append([]ConvStats(nil), t.convs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Total() != out[j].Total() {
			return out[i].Total() > out[j].Total()
		}
		return out[i].Bytes[0]+out[i].Bytes[1] > out[j].Bytes[0]+out[j].Bytes[1]
	})
	return out
}

// List scans a capture and lists its conversations, busiest first, with the
// file's totals.
func List(path string, opt ListOptions) (*Listing, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return list(s, opt)
}

// ListReader is List on a stream; name is used in messages.
func ListReader(r io.Reader, name string, opt ListOptions) (*Listing, error) {
	s, err := NewScanner(r, name)
	if err != nil {
		return nil, err
	}
	return list(s, opt)
}

func list(s *Scanner, opt ListOptions) (*Listing, error) {
	s.SetStrict(opt.Strict)
	t, err := newTabulator(opt)
	if err != nil {
		return nil, err
	}
	var rec Record
	for {
		err := s.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		t.add(&rec)
	}
	return &Listing{File: s.Name(), Format: s.Format(), ScanStats: s.Stats(), Convs: t.sorted(), Truncated: s.Truncated()}, nil
}

// parseProto maps "udp", "tcp", "any" or "" to a protocol number (0 = any)
// and the canonical name.
func parseProto(p string) (uint8, string, error) {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "", "any":
		return 0, "any", nil
	case "udp":
		return protoUDP, "udp", nil
	case "tcp":
		return protoTCP, "tcp", nil
	}
	return 0, "", fmt.Errorf("trace: protocol %q: want udp, tcp or any", p)
}

// selection is a resolved Select.
type selection struct {
	server, client Endpoint
	proto          uint8
	protoName      string
}

// side returns the sender side of r under the selection.
func (sel *selection) side(r *Record) (Side, bool) {
	if r.Kind != KindIP || (sel.proto != 0 && r.Proto != sel.proto) {
		return 0, false
	}
	if sel.server.Matches(r.Src, r.SrcPort) && sel.client.Matches(r.Dst, r.DstPort) {
		return Server, true
	}
	if sel.client.Matches(r.Src, r.SrcPort) && sel.server.Matches(r.Dst, r.DstPort) {
		return Client, true
	}
	return 0, false
}

type parsedSelect struct {
	server, client       Endpoint
	hasServer, hasClient bool
	proto                uint8
	protoName            string
}

func parseSelect(sel Select) (parsedSelect, error) {
	var p parsedSelect
	var err error
	if p.proto, p.protoName, err = parseProto(sel.Proto); err != nil {
		return p, err
	}
	if sel.Server != "" {
		if p.server, err = ParseEndpoint(sel.Server); err != nil {
			return p, fmt.Errorf("trace: server: %w", errors.Unwrap(err))
		}
		p.hasServer = true
	}
	if sel.Client != "" {
		if p.client, err = ParseEndpoint(sel.Client); err != nil {
			return p, fmt.Errorf("trace: client: %w", errors.Unwrap(err))
		}
		p.hasClient = true
	}
	if p.hasServer && p.hasClient {
		if p.server == p.client || (p.server.Addr == p.client.Addr && (p.server.Port == 0 || p.client.Port == 0)) {
			return p, fmt.Errorf("trace: server %s and client %s are not distinguishable: give different ports", p.server, p.client)
		}
	}
	return p, nil
}

// Choose resolves sel against the listing: the busiest two-way conversation
// that matches the given endpoints and protocol. When neither side is given
// the client is the endpoint that sent the conversation's first packet and
// the server the other. The listing must have been made with the same
// protocol, and by ports if sel names a port.
func (l *Listing) Choose(sel Select) (server, client Endpoint, err error) {
	server, client, _, err = l.choose(sel)
	return server, client, err
}

// Resolve is Choose returning a complete Select: both endpoints (with
// ports when the chosen conversation is listed by ports) and the protocol,
// narrowed to the chosen entry's protocol when the listing is by ports and
// sel.Proto is any. Load(path, resolved) then reads exactly that
// conversation in one pass.
func (l *Listing) Resolve(sel Select) (Select, error) {
	server, client, proto, err := l.choose(sel)
	if err != nil {
		return Select{}, err
	}
	_, name, _ := parseProto(sel.Proto)
	if proto != 0 && name == "any" {
		name = protoName(proto)
	}
	return Select{Server: server.String(), Client: client.String(), Proto: name, Strict: sel.Strict}, nil
}

// choose implements Choose; proto is the chosen entry's protocol (0 when
// the listing is by address, or both endpoints were given).
func (l *Listing) choose(sel Select) (server, client Endpoint, proto uint8, err error) {
	p, err := parseSelect(sel)
	if err != nil {
		return server, client, 0, err
	}
	if p.hasServer && p.hasClient {
		return p.server, p.client, 0, nil
	}
	if l.IP == 0 {
		return server, client, 0, &Error{File: l.File, Err: fmt.Errorf("%w: no IP packets among %d records", ErrNoConversation, l.Records)}
	}
	var best *ConvStats
	var swap bool
	oneSided := 0
	for i := range l.Convs {
		c := &l.Convs[i]
		s := false // true when A is the server
		switch {
		case p.hasServer:
			if c.A.matchesEndpoint(p.server) {
				s = true
			} else if !c.B.matchesEndpoint(p.server) {
				continue
			}
		case p.hasClient:
			if c.B.matchesEndpoint(p.client) {
				s = true
			} else if !c.A.matchesEndpoint(p.client) {
				continue
			}
		}
		if !c.TwoWay() {
			oneSided++
			continue
		}
		if best == nil || c.Total() > best.Total() {
			best, swap = c, s
		}
	}
	if best == nil {
		what := "in the capture"
		switch {
		case p.hasServer:
			what = "with server " + p.server.String()
		case p.hasClient:
			what = "with client " + p.client.String()
		}
		if p.protoName != "any" {
			what += " over " + p.protoName
		}
		return server, client, 0, &Error{File: l.File, Err: fmt.Errorf("%w %s (%d one-sided conversations: packets in one direction only)", ErrNoConversation, what, oneSided)}
	}
	client, server = best.A, best.B
	if swap {
		client, server = best.B, best.A
	}
	if p.hasServer {
		server = p.server
	}
	if p.hasClient {
		client = p.client
	}
	return server, client, best.Proto, nil
}

// matchesEndpoint reports whether a listed endpoint e is the endpoint q
// (q's port 0 matches any port).
func (e Endpoint) matchesEndpoint(q Endpoint) bool {
	return e.Addr == q.Addr && (q.Port == 0 || e.Port == q.Port)
}

// Load reads a capture (pcap, pcapng, or the CSV format of shared/data,
// detected by content) and selects a conversation. Zero Select = busiest
// two-way pair; the choice is reported in the returned Conversation fields.
// Unless both endpoints are given the file is read twice (once to list the
// conversations, once to collect the chosen one), so memory holds only the
// chosen conversation's packets.
func Load(path string, sel Select) (*Conversation, error) {
	p, err := parseSelect(sel)
	if err != nil {
		return nil, err
	}
	if !(p.hasServer && p.hasClient) {
		l, err := List(path, ListOptions{Ports: p.server.Port != 0 || p.client.Port != 0, Proto: sel.Proto, Strict: sel.Strict})
		if err != nil {
			return nil, err
		}
		if sel, err = l.Resolve(sel); err != nil {
			return nil, err
		}
		if p, err = parseSelect(sel); err != nil {
			return nil, err
		}
	}
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	s.SetStrict(sel.Strict)
	return collect(s, &selection{server: p.server, client: p.client, proto: p.proto, protoName: p.protoName})
}

// LoadReader is Load on a seekable stream (an *os.File, a *bytes.Reader);
// it seeks back to the start for the second pass. name is used in messages
// and as the Source.
func LoadReader(r io.ReadSeeker, name string, sel Select) (*Conversation, error) {
	p, err := parseSelect(sel)
	if err != nil {
		return nil, err
	}
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("trace: %s: %w", name, err)
	}
	if !(p.hasServer && p.hasClient) {
		l, err := ListReader(r, name, ListOptions{Ports: p.server.Port != 0 || p.client.Port != 0, Proto: sel.Proto, Strict: sel.Strict})
		if err != nil {
			return nil, err
		}
		if sel, err = l.Resolve(sel); err != nil {
			return nil, err
		}
		if p, err = parseSelect(sel); err != nil {
			return nil, err
		}
		if _, err := r.Seek(start, io.SeekStart); err != nil {
			return nil, fmt.Errorf("trace: %s: %w", name, err)
		}
	}
	s, err := NewScanner(r, name)
	if err != nil {
		return nil, err
	}
	s.SetStrict(sel.Strict)
	return collect(s, &selection{server: p.server, client: p.client, proto: p.proto, protoName: p.protoName})
}

// collect reads the selected conversation's packets.
func collect(s *Scanner, sel *selection) (*Conversation, error) {
	c := &Conversation{Server: sel.server, Client: sel.client, Proto: sel.protoName, Source: s.Name()}
	defer func() { c.Truncated = s.Truncated() }()
	var rec Record
	var n [2]int
	for {
		err := s.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		side, ok := sel.side(&rec)
		if !ok {
			continue
		}
		if len(c.Packets) > 0 && rec.TS < c.Packets[len(c.Packets)-1].TS {
			c.ClockSteps++
		}
		c.Packets = append(c.Packets, Packet{TS: rec.TS, Size: rec.Size, From: side, Proto: rec.Proto})
		n[side]++
	}
	st := s.Stats()
	if st.Records > 0 && st.IP == 0 {
		return nil, &Error{File: s.Name(), Err: fmt.Errorf("%w: no IP packets among %d records", ErrNoConversation, st.Records)}
	}
	if n[Server] == 0 || n[Client] == 0 {
		return nil, &Error{File: s.Name(), Err: fmt.Errorf("%w between server %s and client %s (proto %s): %d server->client and %d client->server packets",
			ErrNoConversation, sel.server, sel.client, sel.protoName, n[Server], n[Client])}
	}
	return c, nil
}
