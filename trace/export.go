package trace

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Tables ExportFeatures can write. This package writes TableConversation;
// the features package, which defines the condition features and the
// training-table rows, registers TablePackets and TableBursts (see
// features.PacketTable and features.BurstTable).
const (
	TablePackets      = "packets"      // one row per packet, every feature
	TableBursts       = "bursts"       // one row per burst
	TableConversation = "conversation" // the packets in the CSV format of shared/data (WriteCSV)
)

// TableWriter writes one table of a conversation as CSV with a header row;
// its errors name its package.
type TableWriter func(w io.Writer, c *Conversation) error

var (
	tablesMu sync.RWMutex
	tables   = map[string]TableWriter{TableConversation: WriteCSV}
)

// RegisterTable makes a table available to ExportFeatures under name, as
// image.RegisterFormat does for decoders. It panics if name is already
// registered (a programming error at init time).
func RegisterTable(name string, write TableWriter) {
	tablesMu.Lock()
	defer tablesMu.Unlock()
	if _, dup := tables[name]; dup {
		panic("trace: table " + name + " registered twice")
	}
	tables[name] = write
}

// TableNames returns the registered tables, sorted.
func TableNames() []string {
	tablesMu.RLock()
	defer tablesMu.RUnlock()
	out := make([]string, 0, len(tables))
	for n := range tables {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ExportFeatures writes the named table of c (TablePackets when table is
// empty). The packet and burst tables exist only when the features package
// is linked into the program (it registers them).
func ExportFeatures(w io.Writer, c *Conversation, table string) error {
	if table == "" {
		table = TablePackets
	}
	tablesMu.RLock()
	write, ok := tables[table]
	tablesMu.RUnlock()
	if !ok {
		return fmt.Errorf("trace: unknown table %q: want one of %s (the packet and burst tables need the features package)",
			table, strings.Join(TableNames(), ", "))
	}
	return write(w, c)
}
