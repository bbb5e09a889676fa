package tf

import (
	"bytes"
	"testing"
)

// TestPassOn: the warm-up capture drops TensorFlow's and Abseil's lines
// (copied from a TensorFlow 2.18.1 run) and passes everything else on.
func TestPassOn(t *testing.T) {
	in := "2026-11-30 11:40:08.070686: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n" +
		"train [====    ] 17% 1/6 steps\n" +
		"2026-11-30 11:40:09.699841: I tensorflow/core/platform/cpu_feature_guard.cc:210] This TensorFlow binary is optimized\n" +
		"To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations.\n" +
		"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n" +
		"I0000 00:00:1796038809.710370    8385 mlir_graph_optimization_pass.cc:401] MLIR V1 optimization pass is not enabled\n" +
		"W1130 11:40:09.123456   12 some_file.cc:12] a warning\n" +
		"conversation: embedded:skype_eth_5\n"
	var out bytes.Buffer
	passOn(&out, bytes.NewBufferString(in))
	if want := "train [====    ] 17% 1/6 steps\nconversation: embedded:skype_eth_5\n"; out.String() != want {
		t.Errorf("passed on %q, want %q", out.String(), want)
	}
}
