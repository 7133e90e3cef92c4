using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Junis.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class NamedSessionsIndexedByName : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_ConversationId",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_ConversationId",
                table: "Sessions",
                columns: new[] { "OrganizationId", "ConversationId" },
                unique: true,
                filter: "\"ConversationId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "TranscriptHash", "LastUpdateAt" },
                filter: "\"ConversationId\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "TurnInputHash", "LastUpdateAt" },
                filter: "\"ConversationId\" IS NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "UserTurnsHash", "LastUpdateAt" },
                filter: "\"ConversationId\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_ConversationId",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_ConversationId",
                table: "Sessions",
                columns: new[] { "OrganizationId", "ConversationId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_TranscriptHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "TranscriptHash", "LastUpdateAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_TurnInputHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "TurnInputHash", "LastUpdateAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "UserTurnsHash", "LastUpdateAt" });
        }
    }
}
