package sqlite

import (
	"database/sql/driver"
	"strings"
	"sync"

	msqlite "modernc.org/sqlite"
)

// foldFunc is the SQL function that lower-cases text with Go's Unicode case
// mapping; SQLite's own lower() and LIKE fold ASCII letters only.
const foldFunc = "spotzee_fold"

var registerFold = sync.OnceValue(func() error {
	return msqlite.RegisterDeterministicScalarFunction(foldFunc, 1,
		func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return fold(v), nil
			case []byte:
				return fold(string(v)), nil
			}
			return args[0], nil
		})
})

// fold lower-cases s the way spotzee_fold does.
func fold(s string) string { return strings.ToLower(s) }
