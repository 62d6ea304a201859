package coverage_test

import (
	"fmt"
	"os"

	"github.com/spotzeekit/spotzee-keys/coverage"
)

func ExampleRecorder() {
	rec, err := coverage.Default()
	if err != nil {
		panic(err)
	}
	// validate.Transport, validate.Middleware, the proxy or spotzeetest
	// call Record; here by hand.
	rec.Record("createProjectApiKey", 200)
	rec.Record("getProjectApiKey", 404)
	rep := rec.Report()
	fmt.Println(rep.Covered, "of", rep.Documented, "pairs seen; first never seen:", rep.Unseen[0])
	if err := rep.Check(0.5); err != nil {
		fmt.Fprintln(os.Stdout, "below the threshold")
	}
	// Output:
	// 2 of 135 pairs seen; first never seen: createOrganizationApiKey 200
	// below the threshold
}
