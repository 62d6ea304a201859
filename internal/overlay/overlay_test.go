package overlay

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApply(t *testing.T) {
	t.Parallel()
	spec := []byte(`
a:
  b: {x: 1, list: [p]}
  'c/d': {x: 2}
  e: {x: 3}
`)
	tests := []struct {
		name    string
		overlay string
		want    string
		wantErr string
	}{
		{"dotted update", `{overlay: 1.0.0, actions: [{target: $.a.b, update: {y: 2}}]}`,
			`{"a":{"b":{"list":["p"],"x":1,"y":2},"c/d":{"x":2},"e":{"x":3}}}`, ""},
		{"bracket and array append", `{overlay: 1.0.0, actions: [{target: "$.a['c/d']", update: {x: 9}}, {target: $.a.b, update: {list: [q]}}]}`,
			`{"a":{"b":{"list":["p","q"],"x":1},"c/d":{"x":9},"e":{"x":3}}}`, ""},
		{"union", `{overlay: 1.0.0, actions: [{target: "$.a['b','e'].x", update: 0}]}`,
			`{"a":{"b":{"list":["p"],"x":0},"c/d":{"x":2},"e":{"x":0}}}`, ""},
		{"wildcard remove", `{overlay: 1.0.0, actions: [{target: "$.a.*.x", remove: true}]}`,
			`{"a":{"b":{"list":["p"]},"c/d":{},"e":{}}}`, ""},
		{"target matching nothing", `{overlay: 1.0.0, actions: [{target: $.a.zz, update: {}}]}`, "", "matches nothing"},
		{"bad target", `{overlay: 1.0.0, actions: [{target: a.b, update: {}}]}`, "", "JSONPath"},
		{"no update", `{overlay: 1.0.0, actions: [{target: $.a}]}`, "", "neither update nor remove"},
		{"wrong version", `{overlay: 2.0.0, actions: []}`, "", "unsupported overlay version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := Parse([]byte(tt.overlay))
			if err == nil {
				var out []byte
				out, err = doc.Apply(spec)
				if tt.wantErr == "" {
					require.NoError(t, err)
					var got, want any
					require.NoError(t, json.Unmarshal(out, &got))
					require.NoError(t, json.Unmarshal([]byte(tt.want), &want))
					assert.Equal(t, want, got)
					return
				}
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestExtensions(t *testing.T) {
	t.Parallel()
	doc, err := Parse([]byte("overlay: 1.0.0\nx-limit: 7\nactions: []\n"))
	require.NoError(t, err)
	assert.EqualValues(t, 7, doc.Extensions["x-limit"])
}
