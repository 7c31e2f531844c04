// Package worker builds the Temporal worker that runs disputes, for `odr dev`
// and `odr worker`.
package worker

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/odrflow/odrflow/activities"
	"github.com/odrflow/odrflow/workflows"
)

// DefaultWorkflowTaskPollers is the number of concurrent workflow task polls
// when Options leave it 0. The SDK's default of 2 is what bounded a status
// change in odr bench: each update is one workflow task, and with two polls
// the tasks queued for the worker (BENCHMARKS.md, "Tuning"); 8 polls carried
// about 40% more changes per second, 16 no more than 8.
const DefaultWorkflowTaskPollers = 8

// Options tunes the worker. Zero values keep the SDK's defaults, except
// WorkflowTaskPollers (DefaultWorkflowTaskPollers).
type Options struct {
	// Identity names the worker in Temporal; the SDK's default is
	// pid@host.
	Identity string
	// WorkflowTaskPollers is the number of concurrent workflow task polls;
	// 0 means DefaultWorkflowTaskPollers.
	WorkflowTaskPollers int
	// MaxConcurrentWorkflowTasks bounds the workflow tasks run at once.
	MaxConcurrentWorkflowTasks int
	// MaxConcurrentActivities bounds the activities run at once.
	MaxConcurrentActivities int
	// StopTimeout is how long Stop waits for running activities to finish
	// (graceful drain); the SDK's default is zero.
	StopTimeout time.Duration
	// Webhook is where the worker delivers the disputes' webhooks; no URL,
	// no webhooks. Validate it first (activities.WebhookConfig.Validate).
	Webhook activities.WebhookConfig
}

// New returns a worker on workflows.TaskQueue running the dispute workflow
// with cfg and the webhook activity. Validate cfg first
// (workflows.Config.Validate): an invalid one fails the first workflow task
// of every new dispute. The caller starts and stops the worker.
func New(c client.Client, cfg workflows.Config, opts Options) sdkworker.Worker {
	if opts.WorkflowTaskPollers == 0 {
		opts.WorkflowTaskPollers = DefaultWorkflowTaskPollers
	}
	w := sdkworker.New(c, workflows.TaskQueue, sdkworker.Options{
		Identity:                               opts.Identity,
		MaxConcurrentWorkflowTaskPollers:       opts.WorkflowTaskPollers,
		MaxConcurrentWorkflowTaskExecutionSize: opts.MaxConcurrentWorkflowTasks,
		MaxConcurrentActivityExecutionSize:     opts.MaxConcurrentActivities,
		WorkerStopTimeout:                      opts.StopTimeout,
	})
	wf := &workflows.Workflows{Config: cfg, DeliverWebhooks: opts.Webhook.Enabled()}
	w.RegisterWorkflowWithOptions(wf.DisputeWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
	RegisterActivities(w, opts.Webhook)
	return w
}

// RegisterActivities registers the webhook activity for wh on r. It is
// registered even without a URL: events queued while one was configured
// then fail for good (recorded in the dispute's state) instead of waiting
// forever for a worker that can deliver them.
func RegisterActivities(r sdkworker.ActivityRegistry, wh activities.WebhookConfig) {
	r.RegisterActivityWithOptions(activities.NewWebhook(wh).Deliver,
		activity.RegisterOptions{Name: activities.DeliverWebhookName})
}

// Register registers the dispute workflow under workflows.WorkflowName on r,
// a worker or a replayer, so that both resolve histories to the same code.
// Whether webhooks are delivered does not matter to a replay: the history
// holds the answers the workflow read.
func Register(r sdkworker.WorkflowRegistry, cfg workflows.Config) {
	wf := &workflows.Workflows{Config: cfg}
	r.RegisterWorkflowWithOptions(wf.DisputeWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowName})
}
