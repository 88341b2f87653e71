package charter

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// mergeAttributes applies ALTER USER … ATTRIBUTE's JSON object patch to
// a user's attributes old (empty: none) as MySQL does, with the
// semantics of JSON_MERGE_PATCH (RFC 7396): a key of patch replaces the
// same key of old, a key whose value is null removes it, and objects on
// both sides merge key by key. The result is compact JSON with sorted
// keys, so every node stores the same bytes; numbers keep their text.
func mergeAttributes(old, patch string) (string, error) {
	p, err := decodeObject(patch)
	if err != nil {
		return "", fmt.Errorf("charter: ATTRIBUTE %s: %w", patch, err)
	}
	o := map[string]any{}
	if old != "" {
		if o, err = decodeObject(old); err != nil {
			return "", fmt.Errorf("charter: stored attributes %s: %w", old, err)
		}
	}
	b, err := json.Marshal(mergePatch(o, p))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeObject(s string) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("want a JSON object")
	}
	if d.More() {
		return nil, fmt.Errorf("text after the JSON object")
	}
	return m, nil
}

func mergePatch(target, patch map[string]any) map[string]any {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			tv, ok := target[k].(map[string]any)
			if !ok {
				tv = map[string]any{}
			}
			target[k] = mergePatch(tv, pv)
		default:
			target[k] = v
		}
	}
	return target
}
