-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT 'USER',
    "tier" TEXT,
    "weight" REAL,
    "maxConcurrent" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_User" ("createdAt", "id", "maxConcurrent", "name", "role", "tier", "weight") SELECT "createdAt", "id", "maxConcurrent", "name", "role", "tier", "weight" FROM "User";
DROP TABLE "User";
ALTER TABLE "new_User" RENAME TO "User";
CREATE UNIQUE INDEX "User_name_key" ON "User"("name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Until now every user had weight 1 by default and nothing read it. From here on a user's
-- own weight overrides the scheduling rules, so the old default becomes "not set".
UPDATE "User" SET "weight" = NULL WHERE "weight" = 1;
-- Weights below the new minimum (0.001) were accepted before; keep them in bounds.
UPDATE "User" SET "weight" = 0.001 WHERE "weight" IS NOT NULL AND "weight" < 0.001;
