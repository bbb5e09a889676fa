package trace

import (
	"bytes"
	_ "embed"
	"sync"
)

//go:generate go run ./internal/gendefault -in ../../shared/data/skype_eth_5.csv -out embedded/skype_eth_5.spc

// defaultData is skype_eth_5.csv of the CRAWDAD iitkgp/apptraffic data set
// (IIT Kharagpur, 2015), as converted to CSV by the SPATGAN authors, in the
// compact format. See embedded/README.md.
//
//go:embed embedded/skype_eth_5.spc
var defaultData []byte

// DefaultSource is the Source of the embedded conversation.
const DefaultSource = "embedded:skype_eth_5"

var defaultOnce struct {
	sync.Once
	c   *Conversation
	err error
}

// Default returns the embedded skype_eth_5 conversation (server =
// 124.123.243.15, client = 192.168.1.133): 40,697 packets over 624.3 s, UDP
// and TCP. Each call returns a fresh copy the caller may modify.
func Default() (*Conversation, error) {
	defaultOnce.Do(func() {
		defaultOnce.c, defaultOnce.err = DecodeCompact(bytes.NewReader(defaultData), DefaultSource)
	})
	if defaultOnce.err != nil {
		return nil, defaultOnce.err
	}
	return defaultOnce.c.Clone(), nil
}
