package redact

import (
	"bytes"
	"encoding/json"
	"strings"
)

// JSON returns a JSON document with every string in it (keys too) passed through Text, still
// valid JSON (masking the raw text could break an escaped quote). A document without "://" or
// "/services/" is returned as it is; one that does not parse is returned as Text returns it.
func JSON(doc []byte) []byte {
	s := string(doc)
	if !strings.Contains(s, "://") && !strings.Contains(s, "/services/") {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return []byte(Text(s))
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(jsonStrings(v)) != nil {
		return []byte(Text(s))
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func jsonStrings(v any) any {
	switch x := v.(type) {
	case string:
		return Text(x)
	case []any:
		for i := range x {
			x[i] = jsonStrings(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[Text(k)] = jsonStrings(e)
		}
		return out
	}
	return v
}
