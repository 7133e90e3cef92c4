BEGIN TRANSACTION;
CREATE TABLE "LimitWindows" (
    "Counter" TEXT NOT NULL,
    "Start" TEXT NOT NULL,
    "Count" INTEGER NOT NULL,
    CONSTRAINT "PK_LimitWindows" PRIMARY KEY ("Counter", "Start")
);

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207002753_LimitWindows', '10.0.15');

COMMIT;

