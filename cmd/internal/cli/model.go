package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/spatgan/spatgan/bundle"
	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/simulate"
	"github.com/spatgan/spatgan/trace"
)

// openBundleSampler opens a trained model bundle as a sampler seeded with
// seed, and returns the bundle's fingerprint. It is set by the file that
// wires the GAN in; while nil, --bundle is refused.
var openBundleSampler func(dir string, seed uint64) (s sampler.Sampler, fingerprint string, err error)

// modelFlags choose the sampler: a bundle, or a baseline fitted on a trace,
// and the transport of the synthetic traffic.
type modelFlags struct {
	bundle  string
	sampler string
	seed    uint64
	net     string
	tr      traceFlags
}

func (m *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&m.bundle, "bundle", "", "trained model bundle directory (the GAN)")
	fs.StringVar(&m.sampler, "sampler", "markov", "baseline when no --bundle, fitted on --trace: "+strings.Join(sampler.Names(), ", "))
	fs.Uint64Var(&m.seed, "seed", 1, "random seed; conversation i (from 0) uses seed+i")
	fs.StringVar(&m.net, "net", "", "transport of the synthetic traffic: udp or tcp (default: the protocol of the capture the model was trained or fitted on)")
	m.tr.register(fs)
}

// model is what modelFlags.open chose.
type model struct {
	// newSampler makes conversation i's sampler (seeded with seed+i).
	newSampler  func(i int) (sampler.Sampler, error)
	fingerprint string
	transport   simulate.Transport
	// why says where the transport came from, for the user.
	why string
}

// samplerSet makes and keeps the samplers of the conversations, to close
// those that hold resources (an io.Closer, such as a bundle's sessions).
type samplerSet struct {
	mu   sync.Mutex
	made []sampler.Sampler
}

func (s *samplerSet) add(x sampler.Sampler) sampler.Sampler {
	s.mu.Lock()
	s.made = append(s.made, x)
	s.mu.Unlock()
	return x
}

func (s *samplerSet) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.made {
		if c, ok := x.(io.Closer); ok {
			c.Close()
		}
	}
	s.made = nil
}

// captureTransport is the transport matching a conversation's protocol:
// its selection protocol, or else the one all its packets carry (UDP when
// mixed or unknown).
func captureTransport(proto string, pkts []trace.Packet) (simulate.Transport, string) {
	switch proto {
	case "tcp":
		return simulate.TCP, "tcp"
	case "udp":
		return simulate.UDP, "udp"
	}
	var n [256]int
	for _, p := range pkts {
		n[p.Proto]++
	}
	switch {
	case len(pkts) > 0 && n[6] == len(pkts):
		return simulate.TCP, "tcp"
	case len(pkts) > 0 && n[17] == len(pkts):
		return simulate.UDP, "udp"
	}
	return simulate.UDP, "mixed or unknown, taken as udp"
}

// open makes the model's sampler factory and picks the transport: --net,
// else the protocol of the capture the model learnt from.
func (m *modelFlags) open(stderr io.Writer, set *samplerSet) (*model, error) {
	var mod model
	captureProto := ""
	if m.bundle != "" {
		if openBundleSampler == nil {
			return nil, errors.New("--bundle: bundle support not built into this binary; use --sampler")
		}
		man, _, err := bundle.ReadManifest(m.bundle)
		if err != nil {
			return nil, err
		}
		first, fp, err := openBundleSampler(m.bundle, m.seed)
		if err != nil {
			return nil, err
		}
		set.add(first)
		var mu sync.Mutex
		mod.fingerprint = fp
		mod.newSampler = func(i int) (sampler.Sampler, error) {
			mu.Lock()
			if i == 0 && first != nil {
				s := first
				first = nil
				mu.Unlock()
				return s, nil
			}
			mu.Unlock()
			s, fp2, err := openBundleSampler(m.bundle, m.seed+uint64(i))
			if err != nil {
				return nil, err
			}
			set.add(s)
			if fp2 != fp {
				return nil, fmt.Errorf("bundle %s changed while running (fingerprint %s, was %s)", m.bundle, fp2, fp)
			}
			return s, nil
		}
		var t simulate.Transport
		t, captureProto = manifestTransport(man)
		mod.transport = t
		mod.why = fmt.Sprintf("the protocol of the capture %s was trained on: %s", m.bundle, captureProto)
	} else {
		conv, err := m.tr.load(stderr)
		if err != nil {
			return nil, err
		}
		fit, err := sampler.Fit(m.sampler, conv)
		if err != nil {
			return nil, err
		}
		mod.fingerprint = fit.Fingerprint()
		mod.newSampler = func(i int) (sampler.Sampler, error) { return fit.New(int64(m.seed) + int64(i)), nil }
		mod.transport, captureProto = captureTransport(conv.Proto, conv.Packets)
		mod.why = fmt.Sprintf("the protocol of %s: %s", conv.Source, captureProto)
	}
	if m.net != "" {
		t, err := simulate.ParseTransport(m.net)
		if err != nil {
			return nil, err
		}
		mod.transport, mod.why = t, "--net"
	}
	return &mod, nil
}

// manifestTransport is the transport of the capture a bundle was trained
// on. Bundles of a conversation selected with --proto any record "any"; the
// embedded Skype call is UDP.
func manifestTransport(m *bundle.Manifest) (simulate.Transport, string) {
	switch {
	case m.Trace.Proto == "tcp":
		return simulate.TCP, "tcp"
	case m.Trace.Proto == "udp", m.Trace.Source == trace.DefaultSource:
		return simulate.UDP, "udp"
	}
	return simulate.UDP, m.Trace.Proto + ", taken as udp"
}
