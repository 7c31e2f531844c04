package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Memory is a process's memory at one moment, in bytes.
type Memory struct {
	// HeapAlloc is the live Go heap right after a collection: the objects
	// still reachable (runtime.MemStats.HeapAlloc).
	HeapAlloc uint64 `json:"heap_alloc"`
	// HeapInuse is the heap's spans in use at that moment: live data plus
	// the free space within those spans (runtime.MemStats.HeapInuse).
	HeapInuse uint64 `json:"heap_inuse"`
	// Sys is all memory the Go runtime obtained from the OS.
	Sys uint64 `json:"sys"`
	// RSS is the resident set size (VmRSS of /proc/self/status); 0 where
	// that file does not exist.
	RSS uint64 `json:"rss"`
}

// ProcessMemory measures this process. It collects garbage first, so that
// the heap figures reflect live data rather than how recently the GC ran.
func ProcessMemory() (Memory, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Memory{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, Sys: ms.Sys}
	status, err := os.ReadFile("/proc/self/status")
	if os.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return Memory{}, fmt.Errorf("read process status: %w", err)
	}
	if m.RSS, err = parseVmRSS(status); err != nil {
		return Memory{}, err
	}
	return m, nil
}

// parseVmRSS returns the VmRSS line of a /proc/<pid>/status file in bytes.
func parseVmRSS(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS line in process status")
}

// loadAverage returns the 1-minute load average, or 0 where /proc/loadavg
// is missing: the figure is context for the reader, not a measurement.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	return parseLoadAvg(b)
}

func parseLoadAvg(b []byte) float64 {
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0
	}
	return v
}
