package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/odrflow/odrflow/registry"
)

// The registry commands of SPEC §5. They are a thin layer over the writers
// of package registry, which lock the file, validate the result and replace
// the file atomically; a running API picks the change up within 2 s.

// registryFlag is the --registry flag every registry command takes (also
// ODR_REGISTRY, through the root command's environment binding).
type registryFlag struct{ path string }

func (r *registryFlag) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&r.path, "registry", "", "institution registry YAML file (env ODR_REGISTRY)")
}

func (r *registryFlag) file() (string, error) {
	if r.path == "" {
		return "", errors.New("no registry file: give --registry FILE or set ODR_REGISTRY")
	}
	return r.path, nil
}

func newInstitutionCmd() *cobra.Command {
	var reg registryFlag
	cmd := &cobra.Command{
		Use:   "institution",
		Short: "Register ODR institutions and their users in the registry",
	}
	reg.register(cmd)

	var in registry.InstitutionInput
	add := &cobra.Command{
		Use:   "add --id ID --name NAME --email E --phone P",
		Short: "Register an institution with its first user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := reg.file()
			if err != nil {
				return err
			}
			if err := registry.AddInstitution(path, in); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added institution %s\n", in.ID)
			return nil
		},
	}
	add.Flags().StringVar(&in.ID, "id", "", "institution id, e.g. DEMO-ODRI")
	add.Flags().StringVar(&in.Name, "name", "", "institution name")
	add.Flags().StringVar(&in.Email, "email", "", "email of the first user")
	add.Flags().StringVar(&in.Phone, "phone", "", "phone of the first user")
	markRequired(add, "id", "name", "email", "phone")

	var userInst, email, phone string
	addUser := &cobra.Command{
		Use:   "add-user --id ID --email E --phone P",
		Short: "Register another user of an institution",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := reg.file()
			if err != nil {
				return err
			}
			if err := registry.AddUser(path, userInst, email, phone); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added user %s to institution %s\n", email, userInst)
			return nil
		},
	}
	addUser.Flags().StringVar(&userInst, "id", "", "institution id")
	addUser.Flags().StringVar(&email, "email", "", "user email")
	addUser.Flags().StringVar(&phone, "phone", "", "user phone")
	markRequired(addUser, "id", "email", "phone")

	cmd.AddCommand(add, addUser)
	return cmd
}

func newKeyCmd() *cobra.Command {
	var reg registryFlag
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Register, revoke and list institutions' signing keys",
	}
	reg.register(cmd)

	var inst, pemPath, keyID string
	add := &cobra.Command{
		Use:   "add --institution ID --public-key PEM_FILE [--key-id KID]",
		Short: "Register an RSA public key (2048 bits or more) and print its unique_key_id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := reg.file()
			if err != nil {
				return err
			}
			pemBytes, err := os.ReadFile(pemPath)
			if err != nil {
				return fmt.Errorf("read public key: %w", err)
			}
			id, err := registry.AddKey(path, inst, pemBytes, keyID)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	add.Flags().StringVar(&inst, "institution", "", "institution id")
	add.Flags().StringVar(&pemPath, "public-key", "", "PEM file with the RSA public key")
	add.Flags().StringVar(&keyID, "key-id", "", "unique_key_id to register the key under (default: random 128-bit hex)")
	markRequired(add, "institution", "public-key")

	revoke := &cobra.Command{
		Use:   "revoke KID",
		Short: "Revoke a key: tokens it signs are refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := reg.file()
			if err != nil {
				return err
			}
			if err := registry.RevokeKey(path, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked key %s\n", args[0])
			return nil
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the registered keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := reg.file()
			if err != nil {
				return err
			}
			keys, err := registry.List(path)
			if err != nil {
				return err
			}
			return registry.WriteKeyTable(cmd.OutOrStdout(), keys)
		},
	}

	cmd.AddCommand(add, revoke, list)
	return cmd
}

// markRequired marks flags of cmd required; the names are this file's own,
// so a failure is a programming error.
func markRequired(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err)
		}
	}
}
