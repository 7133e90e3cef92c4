START TRANSACTION;
DROP INDEX "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt";

ALTER TABLE "Sessions" DROP COLUMN "UserTurnsHash";

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207184923_DropUserTurnsHash', '10.0.15');

COMMIT;

