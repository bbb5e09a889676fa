package trace

import "testing"

func TestFingerprint(t *testing.T) {
	// Expected digests computed with Python 3's hashlib.sha256 over
	// struct.pack('<qiB', 1, 2, 1) + struct.pack('<qiB', 100000000000, 1500, 0)
	// (26 bytes), and the digest of no bytes.
	for _, tc := range []struct {
		pkts []Packet
		want string
	}{
		{nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{[]Packet{{TS: 1, Size: 2, From: Client}, {TS: 1e11, Size: 1500, From: Server}},
			"0f253c7c370f528013c0af36b1263c6d3b2f15d380e74659b171ecbbed455e98"},
	} {
		if got := Fingerprint(tc.pkts); got != tc.want {
			t.Errorf("Fingerprint(%v) = %s, want %s", tc.pkts, got, tc.want)
		}
	}
}
