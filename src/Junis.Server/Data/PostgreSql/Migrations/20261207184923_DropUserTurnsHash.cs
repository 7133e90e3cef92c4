using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Junis.Server.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class DropUserTurnsHash : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions");

            migrationBuilder.DropColumn(
                name: "UserTurnsHash",
                table: "Sessions");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "UserTurnsHash",
                table: "Sessions",
                type: "bytea",
                maxLength: 32,
                nullable: false,
                defaultValue: new byte[0]);

            migrationBuilder.CreateIndex(
                name: "IX_Sessions_OrganizationId_UserTurnsHash_LastUpdateAt",
                table: "Sessions",
                columns: new[] { "OrganizationId", "UserTurnsHash", "LastUpdateAt" },
                filter: "\"ConversationId\" IS NULL");
        }
    }
}
