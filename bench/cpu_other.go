//go:build !unix

package bench

import (
	"errors"
	"time"
)

// ProcessCPU is not implemented outside Unix; the breakdown then omits CPU.
func ProcessCPU() (time.Duration, error) {
	return 0, errors.New("process CPU time is only measured on Unix")
}
