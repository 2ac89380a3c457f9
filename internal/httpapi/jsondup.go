package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// checkUniqueNames reports an object of data that names one member twice.
// Invalid JSON is left for the decoder to report.
func checkUniqueNames(data []byte) error {
	// frame is one open value: an object (names set) or an array (nil).
	type frame struct {
		names    map[string]bool
		wantName bool
	}
	var open []*frame
	// valueDone marks the innermost object's member complete.
	valueDone := func() {
		if n := len(open); n > 0 && open[n-1].names != nil {
			open[n-1].wantName = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if n := len(open); n > 0 {
			top = open[n-1]
		}
		if name, ok := tok.(string); ok && top != nil && top.wantName {
			if top.names[name] {
				return fmt.Errorf("member %q given twice", name)
			}
			top.names[name] = true
			top.wantName = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			open = append(open, &frame{names: map[string]bool{}, wantName: true})
		case json.Delim('['):
			open = append(open, &frame{})
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}
