package spotzee

// CallerAndKey is what one statement reads for GET /keys/{id}: the key a
// bearer value's SHA-256 belongs to (revoked or not, as KeyByHash returns
// it), its project's rate-limit tier, and the live key asked for in that
// same project, all from one snapshot of the database.
type CallerAndKey struct {
	// Caller is the bearer's key and Tier its project's tier.
	Caller APIKey
	Tier   Tier
	// Key is the live key asked for; KeyErr is the CodeResourceMissing
	// *Error Store.Key returns when the caller's project has no such live
	// key, nil when Key is set.
	Key    APIKey
	KeyErr error
}
