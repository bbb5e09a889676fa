package trace

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/spatgan/spatgan/internal/atomicfile"
)

// Defaults for synthetic conversations whose endpoints are unknown
// (addresses from the documentation range TEST-NET-1, RFC 5737, and
// 2001:db8::/32, RFC 3849, for IPv6).
var (
	DefaultServer = Endpoint{Addr: netip.MustParseAddr("192.0.2.1"), Port: 40000}
	DefaultClient = Endpoint{Addr: netip.MustParseAddr("192.0.2.2"), Port: 50000}
)

// Default ports for endpoints given without a port.
const (
	DefaultServerPort = 40000
	DefaultClientPort = 50000
)

// MAC addresses of the written frames: locally administered unicast
// addresses 02:00:00:00:00:01 (server) and 02:00:00:00:00:02 (client).
var (
	serverMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
)

// WriterOptions configures a PcapWriter.
type WriterOptions struct {
	// Format is FormatPcap (the default: nanosecond pcap, little endian) or
	// FormatPcapNG (one section, one Ethernet interface "spatgan",
	// nanosecond timestamps).
	Format Format
	// Server and Client are the endpoints written into the frames. A zero
	// address takes DefaultServer / DefaultClient; a zero port takes
	// DefaultServerPort / DefaultClientPort. Both must be of the same
	// family (IPv4 or IPv6).
	Server, Client Endpoint
	// Proto ("udp", the default, or "tcp") is the transport of packets
	// whose Packet.Proto is neither 6 (TCP) nor 17 (UDP).
	Proto string
	// BufferSize is the output buffer in bytes (0: 64 KiB). A caller that
	// flushes after every packet, and keeps many writers, wants it small.
	BufferSize int
}

// PcapWriter writes conversation packets as Ethernet + IPv4/IPv6 + UDP/TCP
// frames whose length equals Packet.Size, with correct IP lengths and IP,
// UDP and TCP checksums, in pcap or pcapng. TCP segments carry consecutive
// sequence numbers per direction and acknowledge everything the other side
// sent; there is no handshake. The payload is zero bytes, or a given prefix
// padded with zeros. Frames are never padded to Ethernet's 60-byte minimum:
// a capture at the sending host records shorter frames too.
//
// Output is buffered: the file is a valid capture of every packet written
// before the last Flush (and Close). A PcapWriter is not safe for concurrent
// use.
type PcapWriter struct {
	bw       *bufio.Writer
	pcap     *pcapgo.Writer
	ng       *pcapgo.NgWriter
	server   Endpoint
	client   Endpoint
	v6       bool
	defProto uint8
	buf      gopacket.SerializeBuffer
	payload  []byte
	seq      [2]uint32 // next TCP sequence number per side
	ipID     uint16
	n        int
	closer   io.Closer
	abort    interface{ Abort() error } // discards a CreatePcap file
}

const writerSnaplen = 262144

// NewPcapWriter writes the capture file header to w and returns a writer.
func NewPcapWriter(w io.Writer, opt WriterOptions) (*PcapWriter, error) {
	size := opt.BufferSize
	if size <= 0 {
		size = 1 << 16
	}
	pw := &PcapWriter{bw: bufio.NewWriterSize(w, size), buf: gopacket.NewSerializeBuffer()}
	pw.server, pw.client = opt.Server, opt.Client
	if !pw.server.Addr.IsValid() {
		pw.server.Addr = DefaultServer.Addr
		if pw.client.Addr.Is6() {
			pw.server.Addr = netip.MustParseAddr("2001:db8::1")
		}
	}
	if !pw.client.Addr.IsValid() {
		pw.client.Addr = DefaultClient.Addr
		if pw.server.Addr.Is6() {
			pw.client.Addr = netip.MustParseAddr("2001:db8::2")
		}
	}
	pw.server.Addr, pw.client.Addr = pw.server.Addr.Unmap(), pw.client.Addr.Unmap()
	if pw.server.Port == 0 {
		pw.server.Port = DefaultServerPort
	}
	if pw.client.Port == 0 {
		pw.client.Port = DefaultClientPort
	}
	if pw.server.Addr.Is6() != pw.client.Addr.Is6() {
		return nil, fmt.Errorf("trace: writer: server %s and client %s are of different address families", pw.server, pw.client)
	}
	if pw.server == pw.client {
		return nil, fmt.Errorf("trace: writer: server and client are the same endpoint %s", pw.server)
	}
	pw.v6 = pw.server.Addr.Is6()
	switch opt.Proto {
	case "", "udp":
		pw.defProto = protoUDP
	case "tcp":
		pw.defProto = protoTCP
	default:
		return nil, fmt.Errorf("trace: writer: protocol %q: want udp or tcp", opt.Proto)
	}
	// Fixed initial sequence numbers keep output reproducible.
	pw.seq = [2]uint32{1000, 2000}
	var err error
	switch opt.Format {
	case FormatPcap, FormatUnknown:
		pw.pcap = pcapgo.NewWriterNanos(pw.bw)
		err = pw.pcap.WriteFileHeader(writerSnaplen, layers.LinkTypeEthernet)
	case FormatPcapNG:
		intf := pcapgo.NgInterface{Name: "spatgan", LinkType: layers.LinkTypeEthernet, SnapLength: writerSnaplen, TimestampResolution: 9}
		pw.ng, err = pcapgo.NewNgWriterInterface(pw.bw, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "spatgan"}})
	default:
		return nil, fmt.Errorf("trace: writer: cannot write format %v (want pcap or pcapng)", opt.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("trace: writer: %w", err)
	}
	return pw, nil
}

// CreatePcap starts a capture file at path and writes its header;
// endpoints left zero in opt take the defaults. The file is written
// atomically: it replaces path when the writer is closed, complete. The
// caller must Close the writer.
func CreatePcap(path string, opt WriterOptions) (*PcapWriter, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	pw, err := NewPcapWriter(f, opt)
	if err != nil {
		f.Abort()
		return nil, err
	}
	pw.closer, pw.abort = f, f
	return pw, nil
}

// WritePcap writes the whole conversation to path, in the format of
// opt.Format, with the conversation's endpoints unless opt names others.
func WritePcap(path string, c *Conversation, opt WriterOptions) error {
	if !opt.Server.Addr.IsValid() && !opt.Client.Addr.IsValid() {
		opt.Server, opt.Client = c.Server, c.Client
		if opt.Server == opt.Client || opt.Server.Addr.Is6() != opt.Client.Addr.Is6() {
			opt.Server, opt.Client = Endpoint{}, Endpoint{}
		}
	}
	pw, err := CreatePcap(path, opt)
	if err != nil {
		return err
	}
	if err := pw.WriteConversation(c); err != nil {
		pw.abort.Abort()
		return err
	}
	return pw.Close()
}

// Endpoints returns the server and client endpoints written in the frames.
func (pw *PcapWriter) Endpoints() (server, client Endpoint) { return pw.server, pw.client }

// Count returns the number of packets written.
func (pw *PcapWriter) Count() int { return pw.n }

// WriteConversation writes every packet of c in order.
func (pw *PcapWriter) WriteConversation(c *Conversation) error {
	for i, p := range c.Packets {
		if err := pw.WritePacket(p); err != nil {
			return fmt.Errorf("%w (packet %d of %s)", err, i+1, c.Source)
		}
	}
	return nil
}

// WritePacket writes p as one frame of p.Size bytes with a zero payload.
func (pw *PcapWriter) WritePacket(p Packet) error { return pw.WritePayload(p, nil) }

// HeaderLen returns the length of the Ethernet, IP and transport headers
// of a frame carrying proto (6 TCP, 17 UDP; others use the writer's
// default): the smallest Packet.Size the writer accepts.
func (pw *PcapWriter) HeaderLen(proto uint8) int {
	if proto != protoTCP && proto != protoUDP {
		proto = pw.defProto
	}
	return headerLen(proto, pw.v6)
}

// WritePayload writes p as one frame of p.Size bytes whose transport
// payload starts with prefix (for example an in-band header of the
// simulation protocol) and is padded with zeros. It is an error if the
// headers and prefix do not fit in p.Size, or the timestamp is outside the
// years 1970 to 2106 that pcap can hold.
func (pw *PcapWriter) WritePayload(p Packet, prefix []byte) error {
	if p.From != Server && p.From != Client {
		return fmt.Errorf("trace: writer: packet %d: side %d is neither server nor client", pw.n+1, p.From)
	}
	proto := p.Proto
	if proto != protoTCP && proto != protoUDP {
		proto = pw.defProto
	}
	hdr := headerLen(proto, pw.v6)
	size := int(p.Size)
	if size < hdr+len(prefix) {
		return fmt.Errorf("trace: writer: packet %d: size %d is smaller than its %d header bytes plus %d payload bytes", pw.n+1, size, hdr, len(prefix))
	}
	if ipLen := size - 14; (!pw.v6 && ipLen > 65535) || (pw.v6 && ipLen-40 > 65535) {
		return fmt.Errorf("trace: writer: packet %d: size %d exceeds the largest IP packet", pw.n+1, size)
	}
	if p.TS < 0 || p.TS/1e9 > 1<<32-1 {
		return fmt.Errorf("trace: writer: packet %d: timestamp %d ns is outside the range pcap can hold", pw.n+1, p.TS)
	}
	plen := size - hdr
	if cap(pw.payload) < plen {
		pw.payload = make([]byte, plen)
	}
	pl := pw.payload[:plen]
	n := copy(pl, prefix)
	clear(pl[n:])

	src, dst := pw.server, pw.client
	srcMAC, dstMAC := serverMAC, clientMAC
	if p.From == Client {
		src, dst = dst, src
		srcMAC, dstMAC = dstMAC, srcMAC
	}
	var network gopacket.SerializableLayer
	var netLayer gopacket.NetworkLayer
	ethType := layers.EthernetTypeIPv4
	if pw.v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(proto),
			SrcIP: src.Addr.AsSlice(), DstIP: dst.Addr.AsSlice()}
		network, netLayer, ethType = ip, ip, layers.EthernetTypeIPv6
	} else {
		pw.ipID++
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: pw.ipID, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocol(proto), SrcIP: src.Addr.AsSlice(), DstIP: dst.Addr.AsSlice()}
		network, netLayer = ip, ip
	}
	var transport gopacket.SerializableLayer
	if proto == protoTCP {
		tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port), DstPort: layers.TCPPort(dst.Port),
			Seq: pw.seq[p.From], Ack: pw.seq[p.From.Other()], ACK: true, PSH: plen > 0, Window: 65535}
		pw.seq[p.From] += uint32(plen)
		tcp.SetNetworkLayerForChecksum(netLayer)
		transport = tcp
	} else {
		udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port), DstPort: layers.UDPPort(dst.Port)}
		udp.SetNetworkLayerForChecksum(netLayer)
		transport = udp
	}
	if err := gopacket.SerializeLayers(pw.buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		network, transport, gopacket.Payload(pl)); err != nil {
		return fmt.Errorf("trace: writer: packet %d: %w", pw.n+1, err)
	}
	// The Ethernet header is written here rather than by layers.Ethernet,
	// which pads frames to 60 bytes.
	eth, err := pw.buf.PrependBytes(14)
	if err != nil {
		return fmt.Errorf("trace: writer: %w", err)
	}
	copy(eth[0:6], dstMAC)
	copy(eth[6:12], srcMAC)
	eth[12], eth[13] = byte(ethType>>8), byte(ethType)
	data := pw.buf.Bytes()
	if len(data) != size {
		return fmt.Errorf("trace: writer: packet %d: built a %d-byte frame for size %d", pw.n+1, len(data), size)
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.TS), CaptureLength: size, Length: size}
	if pw.pcap != nil {
		err = pw.pcap.WritePacket(ci, data)
	} else {
		err = pw.ng.WritePacket(ci, data)
	}
	if err != nil {
		return fmt.Errorf("trace: writer: packet %d: %w", pw.n+1, err)
	}
	pw.n++
	return nil
}

// Flush writes buffered packets to the underlying writer. After Flush the
// output is a complete, valid capture file.
func (pw *PcapWriter) Flush() error {
	if pw.ng != nil {
		if err := pw.ng.Flush(); err != nil {
			return fmt.Errorf("trace: writer: %w", err)
		}
	}
	if err := pw.bw.Flush(); err != nil {
		return fmt.Errorf("trace: writer: %w", err)
	}
	return nil
}

// Close flushes and, for a writer from CreatePcap, closes the file. It is
// safe to call twice.
func (pw *PcapWriter) Close() error {
	err := pw.Flush()
	if err != nil && pw.abort != nil {
		pw.abort.Abort() // a CreatePcap file that could not be completed
	}
	if pw.closer != nil {
		if cerr := pw.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("trace: writer: %w", cerr)
		}
		pw.closer = nil
	}
	return err
}
