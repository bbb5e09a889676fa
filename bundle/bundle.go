// Package bundle stores and loads trained SPATGAN models: one directory
// holding the four generators' weights (server/client x packet/burst), their
// normalisation statistics, configurations (hyper-parameters, features and
// condition), the conversation roles, a fingerprint of the training data,
// the TensorFlow version and a format version, all in manifest.json. Loading
// checks all of it. A loaded bundle is a sampler.Sampler: generators only,
// no critics.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spatgan/spatgan/graphs"
	"github.com/spatgan/spatgan/tf"
	"github.com/spatgan/spatgan/trace"
)

// Format identifies bundles; FormatVersion changes when the layout does.
const (
	Format        = "spatgan-bundle"
	FormatVersion = 1
	ManifestName  = "manifest.json"
)

// ModelIDs are the four models of a bundle, in a fixed order.
var ModelIDs = []string{"server-packet", "client-packet", "server-burst", "client-burst"}

// ModelKind returns the side and kind of a model ID.
func ModelKind(id string) (trace.Side, graphs.Kind, error) {
	switch id {
	case "server-packet":
		return trace.Server, graphs.Packet, nil
	case "client-packet":
		return trace.Client, graphs.Packet, nil
	case "server-burst":
		return trace.Server, graphs.Burst, nil
	case "client-burst":
		return trace.Client, graphs.Burst, nil
	}
	return 0, "", fmt.Errorf("bundle: unknown model %q", id)
}

// ModelID returns the ID of side's model of kind.
func ModelID(side trace.Side, kind graphs.Kind) string { return side.String() + "-" + string(kind) }

// TraceInfo describes the training data.
type TraceInfo struct {
	Source      string  `json:"source"`
	Server      string  `json:"server"`
	Client      string  `json:"client"`
	Proto       string  `json:"proto"`
	Packets     int     `json:"packets"`      // in the whole conversation
	TrainFrac   float64 `json:"train_frac"`   // time fraction of the training part; the rest was never read in training
	ValFrac     float64 `json:"val_frac"`     // time fraction, of the whole, at the end of the training part used to pick the kept weights
	TrainSHA256 string  `json:"train_sha256"` // fingerprint of the training packets
	MinSize     int32   `json:"min_size"`     // smallest frame in the training split
	MaxSize     int32   `json:"max_size"`     // largest frame in the training split
	FirstSide   string  `json:"first_side"`   // side that sent the first packet
}

// Model is one generator's entry in the manifest.
type Model struct {
	Config        graphs.Config  `json:"config"`
	Target        graphs.Scaler  `json:"target_scaler"`
	Cond          graphs.Scaler  `json:"cond_scaler"`
	Weights       string         `json:"weights"`              // file name in the bundle
	WeightsSHA256 string         `json:"weights_sha256"`       // of the whole file
	Steps         int64          `json:"steps"`                // generator steps trained
	SelectedStep  int64          `json:"selected_step"`        // step of the weights kept (best validation score)
	Validation    map[string]any `json:"validation,omitempty"` // score of the kept weights on the validation part
}

// Manifest is manifest.json.
type Manifest struct {
	Format        string           `json:"format"`
	FormatVersion int              `json:"format_version"`
	TFVersion     string           `json:"tf_version"`
	Created       string           `json:"created"`
	Seed          uint64           `json:"seed"`
	Trace         TraceInfo        `json:"trace"`
	Models        map[string]Model `json:"models"`
}

// Fingerprint hashes a conversation's packets (timestamp, size, side): it
// is trace.Fingerprint, the value a manifest's trace.train_sha256 records.
func Fingerprint(pkts []trace.Packet) string { return trace.Fingerprint(pkts) }

// WriteModel writes a generator's weights file into dir and returns its
// name and SHA-256.
func WriteModel(dir, id string, f *tf.File) (name, sum string, err error) {
	name = id + ".weights"
	h := sha256.New()
	err = tf.WriteAtomic(filepath.Join(dir, name), func(w io.Writer) error {
		return f.Encode(io.MultiWriter(w, h))
	})
	return name, hex.EncodeToString(h.Sum(nil)), err
}

// WriteManifest validates m and writes it atomically; call it last, after
// every weights file is in place.
func WriteManifest(dir string, m *Manifest) error {
	m.Format, m.FormatVersion = Format, FormatVersion
	if err := m.validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return tf.WriteAtomic(filepath.Join(dir, ManifestName), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

func (m *Manifest) validate() error {
	if m.Format != Format {
		return fmt.Errorf("bundle: format %q, want %q", m.Format, Format)
	}
	if m.FormatVersion != FormatVersion {
		return fmt.Errorf("bundle: format version %d, this program reads version %d", m.FormatVersion, FormatVersion)
	}
	for _, id := range ModelIDs {
		mm, ok := m.Models[id]
		if !ok {
			return fmt.Errorf("bundle: model %s missing from the manifest", id)
		}
		_, kind, _ := ModelKind(id)
		if mm.Config.Kind != kind {
			return fmt.Errorf("bundle: model %s has kind %q", id, mm.Config.Kind)
		}
		if err := mm.Config.Validate(); err != nil {
			return fmt.Errorf("bundle: model %s: %w", id, err)
		}
		if len(mm.Cond.Names) != len(mm.Config.Cond) || len(mm.Target.Names) != 2 {
			return fmt.Errorf("bundle: model %s: scalers do not match its features", id)
		}
		for _, s := range []graphs.Scaler{mm.Target, mm.Cond} {
			n := len(s.Names)
			if len(s.Log) != n || len(s.Mean) != n || len(s.Std) != n || len(s.Min) != n || len(s.Max) != n {
				return fmt.Errorf("bundle: model %s: incomplete scaler", id)
			}
			for j := range s.Std {
				if !(s.Std[j] > 0) {
					return fmt.Errorf("bundle: model %s: scaler %s has std %v", id, s.Names[j], s.Std[j])
				}
			}
		}
		if mm.Weights == "" || filepath.Base(mm.Weights) != mm.Weights {
			return fmt.Errorf("bundle: model %s: bad weights file name %q", id, mm.Weights)
		}
	}
	if len(m.Models) != len(ModelIDs) {
		return fmt.Errorf("bundle: %d models in the manifest, want %d", len(m.Models), len(ModelIDs))
	}
	return nil
}

// ReadManifest reads and validates dir/manifest.json.
func ReadManifest(dir string) (*Manifest, []byte, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("bundle: %s: not a bundle (no %s)", dir, ManifestName)
		}
		return nil, nil, fmt.Errorf("bundle: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("bundle: %s: %w", path, err)
	}
	if err := m.validate(); err != nil {
		return nil, nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return &m, b, nil
}
