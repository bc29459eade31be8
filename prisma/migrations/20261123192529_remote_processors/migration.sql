-- Remote processors: leases, retries with backoff, results, owners.
-- Plain ADD COLUMNs (SQLite allows NOT NULL with a constant default), so upgrading a large
-- database does not copy the Job table.
ALTER TABLE "Processor" ADD COLUMN "ownerId" TEXT;

ALTER TABLE "Job" ADD COLUMN "leaseId" TEXT;
ALTER TABLE "Job" ADD COLUMN "retryAt" DATETIME;
ALTER TABLE "Job" ADD COLUMN "result" TEXT;
ALTER TABLE "Job" ADD COLUMN "attemptsBeforeRetry" INTEGER NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX "Job_leaseId_key" ON "Job"("leaseId");
