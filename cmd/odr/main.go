// Command odr is odrflow's one binary: the embedded development stack
// (odr dev), the production processes (odr api, odr worker, odr setup), and
// the command-line tools for institutions and operators.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "odr:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "odr",
		Short:         "odrflow: dispute status changes as Temporal workflows",
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd)
		},
	}
	root.AddCommand(newDevCmd(), newAPICmd(), newWorkerCmd(), newSetupCmd(), newClientCmd(), newDisputeCmd(), newInstitutionCmd(), newKeyCmd())
	root.AddCommand(newBenchCmd())
	return root
}

// bindEnv gives every flag an environment variable, ODR_ plus the flag name
// upper-cased with dashes as underscores (--http-addr reads ODR_HTTP_ADDR).
// A flag given on the command line wins over the environment.
func bindEnv(cmd *cobra.Command) error {
	var errs []error
	visit := func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			return
		}
		f.Changed = true
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return errors.Join(errs...)
}

func envName(flag string) string {
	return "ODR_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// buildVersion is the -X version, or the module version and VCS revision.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return version + "+" + s.Value[:12]
		}
	}
	return version
}

// newLogger returns the process logger: JSON lines on stderr at level.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
