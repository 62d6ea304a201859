package robustness

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	spotzee "github.com/spotzeekit/spotzee-keys"
	"github.com/spotzeekit/spotzee-keys/keys"
)

// Each test here reproduces, exactly, one bug this package found (data after
// the JSON body accepted, a non-UTF-8 query value accepted, a NUL in q cutting
// the LIKE pattern), now fixed: they guard against its return.

func TestRegressionTrailingDataAfterJSONRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	target := h.addKey(t, keys.CreateInput{Name: "trailing", Role: spotzee.RoleEditor}).Key
	for _, c := range []call{
		{method: http.MethodPost, target: "/keys", body: []byte(`{"name":"x"}xyz`)},
		{method: http.MethodPost, target: "/keys", body: []byte(`{"name":"x"}]`)},
		{method: http.MethodPost, target: "/keys", body: []byte(`{"name":"x"} {"name":"y"}`)},
		{method: http.MethodPatch, target: fmt.Sprintf("/keys/%d", target.ID), body: []byte(`{"name":"y"}{"role":"admin"}`)},
	} {
		t.Run(fmt.Sprintf("%s %q", c.method, c.body), func(t *testing.T) {
			c.header = jsonHeader(h.admin)
			before := h.snapshot(t)
			res := h.do(t, c)
			p := h.check(t, c, res)
			require.NotNil(t, p, "trailing data accepted: %d %s", res.status, res.body)
			require.Equal(t, http.StatusBadRequest, res.status)
			require.Equal(t, string(spotzee.CodeParameterInvalidFormat), p.Code)
			require.Equal(t, before, h.snapshot(t))
		})
	}
}

func TestRegressionQueryInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := call{method: http.MethodGet, target: "/keys?q=%FF", header: jsonHeader(h.admin)}
	res := h.do(t, c)
	p := h.check(t, c, res)
	require.NotNil(t, p, "q=%%FF accepted: %d %s", res.status, res.body)
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, string(spotzee.CodeParameterInvalidFormat), p.Code)
	require.Equal(t, "q", p.Param)
}

func TestRegressionSearchWithNULRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, name := range []string{"Delta", "beta", "alpha one", "a\x00b"} {
		h.addKey(t, keys.CreateInput{Name: name})
	}
	c := call{method: http.MethodGet, target: "/keys?q=a%00", header: jsonHeader(h.admin)}
	res := h.do(t, c)
	if p := h.check(t, c, res); p != nil {
		// Refusing a NUL in q is an acceptable fix too.
		require.Equal(t, string(spotzee.CodeParameterInvalidFormat), p.Code)
		return
	}
	var names []string
	for _, k := range decode[pageJSON](t, res.body).Results {
		names = append(names, k.Name)
	}
	require.Equal(t, []string{"a\x00b"}, names, "q=\"a\\x00\" must list only the key containing it")
}
