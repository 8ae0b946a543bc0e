package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cassette-backup/cassette/providers"
)

// headBucket checks that the bucket exists and the credentials reach it.
func (s *Storage) headBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3sdk.HeadBucketInput{Bucket: &s.bucket})
	if err == nil {
		return nil
	}
	err = s.translateError(ctx, "open bucket", s.bucket, err)
	if errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("s3: bucket %s does not exist: %w", s.bucket, providers.ErrNotFound)
	}
	return err
}

// ensureBucket creates the bucket unless it exists, saying exactly what is
// missing when the credentials may not create it.
func (s *Storage) ensureBucket(ctx context.Context) error {
	err := s.headBucket(ctx)
	if err == nil || !errors.Is(err, providers.ErrNotFound) {
		return err
	}
	in := &s3sdk.CreateBucketInput{Bucket: &s.bucket}
	if s.kind == KindAWS && s.region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(s.region),
		}
	}
	_, err = s.client.CreateBucket(ctx, in)
	var ae smithy.APIError
	switch {
	case err == nil:
		s.opts.Logger.Info("s3: created bucket", "bucket", s.bucket)
		return nil
	case errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyOwnedByYou":
		return nil
	case errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyExists":
		return fmt.Errorf("s3: bucket name %s is taken by another account; choose another bucketName", s.bucket)
	}
	err = s.translateError(ctx, "create bucket", s.bucket, err)
	if errors.Is(err, providers.ErrPermission) {
		return fmt.Errorf("s3: bucket %s does not exist and %s may not create it (s3:CreateBucket denied); "+
			"create the bucket or grant that permission: %w", s.bucket, s.credFrom, err)
	}
	return err
}

// ProbeConditionalCreate finds out whether the server honours If-None-Match
// on PUT: it creates a probe object under the prefix twice and expects the
// second create to fail. The probe object is deleted afterwards. Create
// calls it and records the answer in Properties().ConditionalCreate.
func (s *Storage) ProbeConditionalCreate(ctx context.Context) (bool, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := providers.Key(".cassette-probe-" + hex.EncodeToString(rnd[:]))
	body := []byte("cassette conditional create probe\n")
	create := func() error {
		return s.putObject(ctx, key, func() io.ReadSeeker { return bytes.NewReader(body) },
			int64(len(body)), providers.PutOptions{IfNotExists: true}, 1)
	}
	if err := create(); err != nil {
		if errors.Is(err, providers.ErrNotSupported) {
			s.warnNoConditional("the server rejects If-None-Match")
			return false, nil
		}
		return false, fmt.Errorf("s3: probe conditional create: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.Delete(dctx, key); err != nil {
			s.opts.Logger.Warn("s3: could not delete the probe object", "key", string(key), "err", err)
		}
	}()
	err := create()
	switch {
	case errors.Is(err, providers.ErrAlreadyExists):
		return true, nil
	case err == nil:
		s.warnNoConditional("the server ignores If-None-Match")
		return false, nil
	case errors.Is(err, providers.ErrNotSupported):
		s.warnNoConditional("the server rejects If-None-Match")
		return false, nil
	}
	return false, fmt.Errorf("s3: probe conditional create: %w", err)
}

func (s *Storage) warnNoConditional(why string) {
	s.opts.Logger.Warn("s3: no atomic create-if-absent on this server; locks fall back to create, wait and re-list",
		"bucket", s.bucket, "reason", why)
}
