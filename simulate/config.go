package simulate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spatgan/spatgan/sampler"
	"github.com/spatgan/spatgan/trace"
)

// Default timeouts of the live agents.
const (
	DefaultTurnTimeout    = time.Second
	DefaultPeerTimeout    = 5 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultRetryInterval  = 100 * time.Millisecond
	DefaultLateAfter      = time.Millisecond
	DefaultQueueLen       = 512
	DefaultFineSleep      = 2 * time.Millisecond
)

// Config configures a live agent (server or client). The zero value of each
// optional field selects its default.
type Config struct {
	// Transport is UDP (default) or TCP.
	Transport Transport
	// NewSampler returns the sampler of the conversation with the given
	// 0-based index (clients: the pair number; servers: the order in which
	// conversations were accepted). It is called once per conversation, since
	// a Sampler need not be safe for concurrent use. Required unless
	// Dispatcher is set.
	NewSampler func(conv int) (sampler.Sampler, error)
	// Dispatcher, if set, draws every conversation's bursts from one
	// shared sampler, batching the decisions due together (see
	// Dispatcher); NewSampler is then not used. A server and a client in
	// one process may share it.
	Dispatcher *Dispatcher
	// WholeBursts draws every burst whole before its first packet goes
	// out, even from a sampler that could draw it packet by packet as the
	// packets come due (sampler.Stepper); for comparison with that
	// default.
	WholeBursts bool
	// Fingerprint identifies the model; the handshake refuses a peer whose
	// fingerprint differs. Required (may not be empty).
	Fingerprint string
	// Pairs is the number of conversations: a client opens this many
	// concurrently, a server serves this many and then returns. Default 1.
	Pairs int
	// MaxPackets ends each conversation after this many data packets (both
	// directions together); 0 = no limit. The client's and the server's
	// limits are combined at the handshake (the smaller non-zero one).
	MaxPackets int64
	// Duration ends each conversation at the handshake plus Duration:
	// packets scheduled later are not sent (see the package documentation);
	// 0 = no limit. Combined like MaxPackets.
	Duration time.Duration
	// Speedup divides all sampled times (client side; the server adopts the
	// client's). 0 means 1; +Inf sends as fast as possible.
	Speedup float64
	// TurnTimeout is the silence after which a waiting agent sends a Sync
	// message (to recover from a lost last packet and to probe the peer).
	TurnTimeout time.Duration
	// PeerTimeout is the silence after which the peer is declared gone.
	PeerTimeout time.Duration
	// ConnectTimeout bounds the client's handshake retries (peer not up yet).
	ConnectTimeout time.Duration
	// RetryInterval is the pause between handshake attempts.
	RetryInterval time.Duration
	// FineSleep is the last stretch before each packet's deadline that is
	// slept with a direct system call (nanosleep on Linux) rather than a Go
	// timer, which wakes up to about a millisecond late (the runtime's
	// poller has millisecond resolution). Messages arriving meanwhile wait
	// in the queue. 0 means DefaultFineSleep; negative disables it.
	FineSleep time.Duration
	// Log receives the frame size limit an agent sends under (from the
	// path MTU) and one line per handshake a server refuses (another
	// model, a full or stopping server, a bad request), naming the client
	// and the reason; repeats of the same refusal within a second are
	// skipped. Nil: none.
	Log io.Writer
	// Spin busy-waits the last Spin before each packet's deadline for a
	// smaller pacing error, at the cost of CPU. At most MaxSpinners
	// conversations of the process spin at once; one that finds no free
	// slot sleeps to its deadline. 0 (default) only sleeps.
	Spin time.Duration
	// LateAfter is the pacing error beyond which a packet counts as late.
	LateAfter time.Duration
	// MaxCount and MaxGap bound sampled burst counts and times.
	MaxCount int
	MaxGap   time.Duration
	// QueueLen bounds each conversation's queue of received messages;
	// messages arriving while it is full are dropped and counted.
	QueueLen int
	// Recorder receives every data packet sent and received (may be nil).
	// It must be safe for concurrent use.
	Recorder Recorder
	// IPv6 selects IPv6 frame accounting when the address does not say
	// (it is set automatically from the bound address).
	IPv6 bool
}

func (c *Config) setDefaults() error {
	if c.NewSampler == nil && c.Dispatcher == nil {
		return errors.New("simulate: config: no sampler")
	}
	if c.Fingerprint == "" {
		return errors.New("simulate: config: empty fingerprint")
	}
	if len(c.Fingerprint) > MaxFingerprint {
		return fmt.Errorf("simulate: config: fingerprint longer than %d bytes", MaxFingerprint)
	}
	if c.Pairs == 0 {
		c.Pairs = 1
	}
	if c.Pairs < 0 || c.Pairs > 1<<16 {
		return fmt.Errorf("simulate: config: pairs %d out of range 1..65536", c.Pairs)
	}
	if c.MaxPackets < 0 || c.Duration < 0 {
		return errors.New("simulate: config: negative limit")
	}
	if c.Speedup == 0 {
		c.Speedup = 1
	}
	if c.Speedup < 0 || math.IsNaN(c.Speedup) {
		return fmt.Errorf("simulate: config: speedup %v must be > 0", c.Speedup)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.TurnTimeout, DefaultTurnTimeout)
	def(&c.PeerTimeout, DefaultPeerTimeout)
	def(&c.ConnectTimeout, DefaultConnectTimeout)
	def(&c.RetryInterval, DefaultRetryInterval)
	def(&c.LateAfter, DefaultLateAfter)
	def(&c.MaxGap, DefaultMaxGap)
	if c.FineSleep == 0 {
		c.FineSleep = DefaultFineSleep
	}
	if c.Spin < 0 {
		return errors.New("simulate: config: negative spin")
	}
	if c.MaxCount <= 0 {
		c.MaxCount = DefaultMaxCount
	}
	if c.QueueLen <= 0 {
		c.QueueLen = DefaultQueueLen
	}
	return nil
}

// planner returns the planner of conversation index for side: drawing
// through the Dispatcher if there is one, else from its own sampler.
func (c *Config) planner(index int, side trace.Side, fr Framing, timeScale float64) (*planner, error) {
	if c.Dispatcher != nil {
		p := newPlanner(nil, side, fr, timeScale, c.MaxCount, c.MaxGap)
		p.d = c.Dispatcher
		p.stepwise = c.Dispatcher.stepwise[side] && !c.WholeBursts
		return p, nil
	}
	s, err := c.NewSampler(index)
	if err != nil {
		return nil, err
	}
	p := newPlanner(s, side, fr, timeScale, c.MaxCount, c.MaxGap)
	p.stepwise = p.stepwise && !c.WholeBursts
	return p, nil
}

// timeScale converts the speedup into the factor applied to sampled times.
func timeScale(speedup float64) float64 {
	if math.IsInf(speedup, 1) {
		return 0
	}
	return 1 / speedup
}

// combine returns the smaller non-zero of two limits.
func combine(a, b uint64) uint64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
