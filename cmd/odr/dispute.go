package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/odrflow/odrflow/api"
)

// adminClient calls the admin API for the operator commands.
type adminClient struct {
	baseURL string
	token   string
	dataDir string
	http    http.Client
}

func (a *adminClient) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&a.baseURL, "admin-url", "http://127.0.0.1:8081", "base URL of the admin API")
	f.StringVar(&a.token, "admin-token", "", "admin bearer token (default: the one odr dev stored in --data-dir)")
	f.StringVar(&a.dataDir, "data-dir", "./.odr", "odr dev data directory, to find its admin token")
}

// do sends one request and decodes a 2xx JSON answer into out; any other
// answer is an error carrying the API's message.
func (a *adminClient) do(method, path string, in, out any) error {
	token := a.token
	if token == "" {
		b, err := os.ReadFile(filepath.Join(a.dataDir, "admin-token"))
		if err != nil {
			return fmt.Errorf("no admin token: set --admin-token or ODR_ADMIN_TOKEN (%w)", err)
		}
		token = strings.TrimSpace(string(b))
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(a.baseURL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a.http.Timeout = 30 * time.Second
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e api.Response
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Message)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	return json.Unmarshal(raw, out)
}

// newDisputeCmd is the operators' shell access to the admin API.
func newDisputeCmd() *cobra.Command {
	var a adminClient
	cmd := &cobra.Command{Use: "dispute", Short: "Transfer, show, list disputes and extend deadlines through the admin API"}
	a.register(cmd)

	var t api.TransferRequest
	transfer := &cobra.Command{
		Use:   "transfer",
		Short: "Transfer a dispute to an institution",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out api.DisputeSummary
			if err := a.do(http.MethodPost, "/admin/v1/disputes", t, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "transferred %s to %s (%s), status %s\n", out.DisputeID, out.InstitutionID, out.DisputeType, out.Status)
			return nil
		},
	}
	transfer.Flags().StringVar(&t.DisputeID, "id", "", "dispute id")
	transfer.Flags().StringVar(&t.InstitutionID, "institution", "", "id of the ODR Institution")
	transfer.Flags().StringVar(&t.DisputeType, "type", "", "dispute type")
	for _, n := range []string{"id", "institution", "type"} {
		_ = transfer.MarkFlagRequired(n)
	}

	show := &cobra.Command{
		Use:   "show DISPUTE_ID",
		Short: "Print a dispute's state as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st json.RawMessage
			if err := a.do(http.MethodGet, "/admin/v1/disputes/"+url.PathEscape(args[0]), nil, &st); err != nil {
				return err
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, st, "", "  "); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), pretty.String())
			return nil
		},
	}

	var filter api.ListFilter
	var pageSize int
	var pageToken string
	list := &cobra.Command{
		Use:   "list",
		Short: "List disputes by status, institution and type",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"status": filter.Status, "institution": filter.Institution, "type": filter.Type, "pageToken": pageToken} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if pageSize > 0 {
				q.Set("pageSize", fmt.Sprint(pageSize))
			}
			var out api.DisputeList
			if err := a.do(http.MethodGet, "/admin/v1/disputes?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DISPUTE\tINSTITUTION\tTYPE\tSTATUS\tUPDATED")
			for _, d := range out.Disputes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.DisputeID, d.InstitutionID, d.DisputeType, d.Status, d.UpdatedAt.Format(time.RFC3339))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if out.NextPageToken != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "next page: --page-token %s\n", out.NextPageToken)
			}
			return nil
		},
	}
	list.Flags().StringVar(&filter.Status, "status", "", "only disputes in this status")
	list.Flags().StringVar(&filter.Institution, "institution", "", "only disputes of this institution")
	list.Flags().StringVar(&filter.Type, "type", "", "only disputes of this type")
	list.Flags().IntVar(&pageSize, "page-size", 0, "disputes per page (default 50)")
	list.Flags().StringVar(&pageToken, "page-token", "", "token of the next page from a previous list")

	var days int
	extend := &cobra.Command{
		Use:   "extend DISPUTE_ID",
		Short: "Extend a dispute's running conciliation deadline by --days",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st struct {
				Status   string     `json:"status"`
				Deadline *time.Time `json:"deadline"`
			}
			if err := a.do(http.MethodPost, "/admin/v1/disputes/"+url.PathEscape(args[0])+"/extensions", api.ExtensionRequest{Days: days}, &st); err != nil {
				return err
			}
			if st.Deadline == nil {
				return fmt.Errorf("dispute %s has no deadline after the extension", args[0])
			}
			fmt.Fprintf(cmd.OutOrStdout(), "extended %s (%s) by %d days: deadline %s\n", args[0], st.Status, days, st.Deadline.Format(time.RFC3339))
			return nil
		},
	}
	extend.Flags().IntVar(&days, "days", 0, "days to add")
	_ = extend.MarkFlagRequired("days")

	cmd.AddCommand(transfer, show, list, extend)
	return cmd
}
