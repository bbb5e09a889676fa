package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spatgan/spatgan/trace"
)

func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func TestGenerateCommand(t *testing.T) {
	dir := t.TempDir()
	var files [2]string
	for i := range files {
		files[i] = filepath.Join(dir, "g"+strconv.Itoa(i)+".pcap")
		var out, errb bytes.Buffer
		err := Run(context.Background(), &out, &errb, []string{"generate", "--sampler", "markov", "--seed", "3",
			"--packets", "5000", "--out", files[i], "--csv"})
		if err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		if !strings.Contains(out.String(), "generated 5000 packets") {
			t.Fatalf("output: %s", out.String())
		}
	}
	a, _ := os.ReadFile(files[0])
	b, _ := os.ReadFile(files[1])
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different pcaps")
	}
	if n := lines(t, filepath.Join(dir, "g0.csv")); n != 5001 {
		t.Fatalf("csv has %d lines, want 5001", n)
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("SPATGAN_REQUIRE_TOOLS") == "1" {
			t.Fatal(err)
		}
		t.Skip("tshark not found")
	}
	out, err := exec.Command(tshark, "-n", "-r", files[0], "-T", "fields", "-e", "frame.len").Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "\n"); n != 5000 {
		t.Fatalf("tshark reads %d packets", n)
	}
}

// TestGenerateConversations: --conversations writes that many
// conversations, each on its own client port, in time order, into one
// pcap that tshark reads.
func TestGenerateConversations(t *testing.T) {
	const k, per = 20, 300
	path := filepath.Join(t.TempDir(), "many.pcap")
	var out, errb bytes.Buffer
	if err := Run(context.Background(), &out, &errb, []string{"generate", "--sampler", "markov", "--packets", strconv.Itoa(per),
		"--conversations", strconv.Itoa(k), "--out", path}); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("generated %d packets", k*per)) {
		t.Fatalf("output: %s", out.String())
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("SPATGAN_REQUIRE_TOOLS") == "1" {
			t.Fatal(err)
		}
		t.Skip("tshark not found")
	}
	b, err := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "_ws.expert").Output()
	if err != nil {
		t.Fatal(err)
	}
	perPort := map[string]int{}
	prev := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 || (len(f) > 3 && f[3] != "") {
			t.Fatalf("tshark: %q", line)
		}
		if f[0] < prev { // equal-width epoch strings compare as numbers
			t.Fatalf("capture goes back in time at %s", f[0])
		}
		prev = f[0]
		port := f[1]
		if port == "40000" {
			port = f[2]
		}
		perPort[port]++
	}
	if len(perPort) != k {
		t.Fatalf("%d client ports, want %d", len(perPort), k)
	}
	for p, n := range perPort {
		if n != per {
			t.Fatalf("port %s: %d packets, want %d", p, n, per)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--out", filepath.Join(dir, "x.pcap")}, "--packets N or --duration T"},
		{[]string{"generate", "--packets", "10"}, "--out FILE is required"},
		{[]string{"generate", "--packets", "10", "--out", filepath.Join(dir, "x.pcap"), "--sampler", "nope"}, "unknown sampler"},
		{[]string{"generate", "--packets", "10", "--out", filepath.Join(dir, "x.pcap"), "--bundle", dir}, "not a bundle"},
		{[]string{"generate", "--packets", "10", "--out", filepath.Join(dir, "x.pcap"), "--net", "sctp"}, "unknown transport"},
		{[]string{"generate", "--packets", "10", "--out", filepath.Join(dir, "no", "such", "dir.pcap")}, "no such file"},
	} {
		var out, errb bytes.Buffer
		err := Run(context.Background(), &out, &errb, c.args)
		if err == nil || (!strings.Contains(err.Error(), c.want) && !strings.Contains(errb.String(), c.want)) {
			t.Errorf("%v: got %v (stderr %q), want %q", c.args, err, errb.String(), c.want)
		}
	}
}

// TestSimulateServerClient runs the two roles as the two terminals would,
// then a client with another model against a server.
func TestSimulateServerClient(t *testing.T) {
	dir := t.TempDir()
	addr := freeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var srvErr error
	var srvOut, srvErrb bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		srvErr = Run(ctx, &srvOut, &srvErrb, []string{"simulate", "server", "--listen", addr, "--sampler", "bootstrap",
			"--out", filepath.Join(dir, "s.pcap"), "--csv"})
	}()
	var out, errb bytes.Buffer
	err := Run(ctx, &out, &errb, []string{"simulate", "client", "--connect", addr, "--sampler", "bootstrap",
		"--packets", "300", "--speedup", "20", "--out", filepath.Join(dir, "c.pcap"), "--csv"})
	wg.Wait()
	if err != nil || srvErr != nil {
		t.Fatalf("client: %v\n%s\nserver: %v\n%s", err, errb.String(), srvErr, srvErrb.String())
	}
	for _, f := range []string{"s.csv", "c.csv"} {
		if n := lines(t, filepath.Join(dir, f)); n != 301 {
			t.Fatalf("%s: %d lines, want 301", f, n)
		}
	}
	for _, want := range []string{"pacing error", "decision latency"} {
		if !strings.Contains(out.String(), want) || !strings.Contains(srvOut.String(), want) {
			t.Fatalf("report lacks %q:\n%s\n%s", want, out.String(), srvOut.String())
		}
	}

	// A client with another model is refused, with both fingerprints named.
	addr = freeUDPPort(t)
	ctx2, cancel2 := context.WithCancel(ctx)
	wg.Add(1)
	var srvLog syncBuffer
	go func() {
		defer wg.Done()
		Run(ctx2, &bytes.Buffer{}, &srvLog, []string{"simulate", "server", "--listen", addr, "--sampler", "normal"})
	}()
	err = Run(ctx, &out, &errb, []string{"simulate", "client", "--connect", addr, "--sampler", "markov",
		"--packets", "100", "--connect-timeout", "3s"})
	cancel2()
	wg.Wait()
	if err == nil || !strings.Contains(err.Error(), "fingerprint mismatch") || !strings.Contains(err.Error(), "normal-v1:") {
		t.Fatalf("mismatched models: %v", err)
	}
	// The server says so too.
	if l := srvLog.String(); !strings.Contains(l, "server: refused client 127.0.0.1:") || !strings.Contains(l, "fingerprint mismatch") {
		t.Fatalf("server log does not report the refusal:\n%s", l)
	}
	// Neither side wrote a recording without --out.
	for _, f := range []string{"spatgan-server.pcap", "spatgan-client.pcap"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s written into the working directory without --out", f)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSimulateLocalPairsAndErrors(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := Run(context.Background(), &out, &errb, []string{"simulate", "local", "--sampler", "normal", "--pairs", "4",
		"--packets", "100", "--speedup", "inf", "--net", "tcp", "--out", filepath.Join(dir, "run.pcap"), "--csv"})
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "aggregate: 400 packets") || lines(t, filepath.Join(dir, "run-server.csv")) != 401 ||
		lines(t, filepath.Join(dir, "run-client.csv")) != 401 {
		t.Fatalf("output:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "transport: tcp (--net)") {
		t.Errorf("stderr does not say where the transport came from:\n%s", errb.String())
	}
	for _, f := range []string{"run-server.pcap", "run-client.pcap"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// No server: the client retries, then fails with a clear message.
	err = Run(context.Background(), &out, &errb, []string{"simulate", "client", "--connect", freeUDPPort(t),
		"--connect-timeout", "300ms"})
	if err == nil || !strings.Contains(err.Error(), "is the server running") {
		t.Fatalf("no server: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "bogus"}, `unknown command "bogus"`}, {[]string{"simulate", "clinet"}, "did you mean client?"},
		{[]string{"simulate", "server", "--bundle", dir}, "not a bundle"},
		{[]string{"simulate", "client", "--pairs", "0"}, "--pairs 0"},
		{[]string{"simulate", "client", "--speedup", "-1"}, "speedup"},
		{[]string{"simulate", "client", "--csv"}, "give --out FILE.pcap too"},
		{[]string{"simulate", "client", "--duration", "20"}, "a duration needs a unit"},
		{[]string{"simulate", "client", "--packets", "-3"}, "--packets -3"},
	} {
		var out, errb bytes.Buffer
		err := Run(context.Background(), &out, &errb, c.args)
		if err == nil || (!strings.Contains(err.Error(), c.want) && !strings.Contains(errb.String(), c.want)) {
			t.Errorf("%v: got %v (stderr %q), want %q", c.args, err, errb.String(), c.want)
		}
	}
}

// TestSimulateInterrupt cancels a local run as SIGINT would: the command
// succeeds and the files hold every packet the reports count.
func TestSimulateInterrupt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupt once the client has logged a few packets (fitting the
	// baseline and the handshake take a while on a loaded machine), at the
	// latest after 20 s.
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(filepath.Join(dir, "c.csv")); err == nil && bytes.Count(b, []byte("\n")) > 5 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	var out, errb bytes.Buffer
	err := Run(ctx, &out, &errb, []string{"simulate", "local", "--sampler", "markov", "--speedup", "5",
		"--server-pcap", "", "--server-csv", filepath.Join(dir, "s.csv"), "--client-pcap", "", "--client-csv", filepath.Join(dir, "c.csv")})
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted; recordings flushed") {
		t.Fatalf("stderr: %s", errb.String())
	}
	// Every packet the client sent or received is in its flow log.
	s := out.String()
	i := strings.Index(s, "client:")
	var sent, recv int
	for _, l := range strings.Split(s[i:], "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "sent ") {
			f := strings.Fields(l)
			sent, _ = strconv.Atoi(f[1])
			for j, w := range f {
				if w == "received" {
					recv, _ = strconv.Atoi(f[j+1])
				}
			}
			break
		}
	}
	if sent == 0 || lines(t, filepath.Join(dir, "c.csv")) != sent+recv+1 {
		t.Fatalf("client sent %d received %d, flow log %d lines\n%s", sent, recv, lines(t, filepath.Join(dir, "c.csv")), s)
	}
}

func TestClientEndpoint(t *testing.T) {
	base := trace.DefaultClient // 192.0.2.2:50000
	for _, c := range []struct {
		conv int
		want string
	}{
		{0, "192.0.2.2:50000"},
		{1, "192.0.2.2:50001"},
		{15535, "192.0.2.2:65535"}, // the last port
		{15536, "192.0.2.3:50000"}, // then the next address
		{65535, "192.0.2.6:53391"}, // 65535 = 4*15536 + 3391
	} {
		if got := clientEndpoint(base, c.conv).String(); got != c.want {
			t.Errorf("conversation %d: %s, want %s", c.conv, got, c.want)
		}
	}
}
