# Build
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props appsettings.json ./
COPY src/Junis.Server/Junis.Server.csproj src/Junis.Server/
RUN dotnet restore src/Junis.Server/Junis.Server.csproj -r linux-x64 -p:PublishReadyToRun=true
COPY src/ src/
# ReadyToRun: code compiled ahead of time, so the server starts in about two thirds of the time.
RUN dotnet publish src/Junis.Server/Junis.Server.csproj -c Release -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o /app --no-restore

# Run: the ASP.NET runtime only, as the image's unprivileged "app" user, the database on a volume
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
RUN mkdir -p /data && chown app:app /data
USER app
# DOTNET_GCgen0size: a 32 MiB young generation, measured to save 8–9 % of the CPU per request (README, Performance).
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ConnectionStrings__Junis="Data Source=/data/junis.db" \
    DOTNET_GCgen0size=0x2000000
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["dotnet", "Junis.Server.dll"]
