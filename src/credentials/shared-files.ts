// The shared config and credentials files (~/.aws/config, ~/.aws/credentials), profile AWS_PROFILE or default:
// static keys, role_arn with source_profile or credential_source (STS AssumeRole), web_identity_token_file, and
// credential_process, resolved in the order the AWS SDK for JavaScript uses (@aws-sdk/credential-provider-ini).
import type { Credentials, HeaderSigner } from "../aws/signer.ts";
import { containerSource } from "./container.ts";
import { envSource } from "./env.ts";
import { imdsSource } from "./imds.ts";
import { loadSharedFiles, type Profile } from "./ini.ts";
import { processCredentials } from "./credential_process.ts";
import type { CredentialSource, HostIO, SourceResult } from "./provider.ts";
import { callSts, stsEndpoint } from "../aws/sts.ts";
import { webIdentityCredentials } from "./web-identity.ts";

export interface SharedFilesOptions {
  /** Signs AssumeRole for profiles with role_arn. */
  signer: HeaderSigner;
}

type Profiles = Record<string, Profile>;

const isStatic = (p: Profile | undefined) => Boolean(p?.aws_access_key_id && p.aws_secret_access_key);
const staticCredentials = (p: Profile): Credentials => ({
  accessKeyId: p.aws_access_key_id!,
  secretAccessKey: p.aws_secret_access_key!,
  ...(p.aws_session_token ? { sessionToken: p.aws_session_token } : {}),
});

export function sharedFilesSource(io: HostIO, options: SharedFilesOptions): CredentialSource {
  const name = "shared files";

  /** credential_source: where a role profile's source credentials come from when it has no source_profile. */
  async function fromCredentialSource(value: string, profile: string): Promise<SourceResult> {
    const sources: Record<string, () => CredentialSource> = {
      Environment: () => envSource(io.env),
      Ec2InstanceMetadata: () => imdsSource(io),
      EcsContainer: () => containerSource(io),
    };
    const make = sources[value];
    if (!make) return { failed: `profile ${profile}: credential_source ${value} is not one of Environment, Ec2InstanceMetadata, EcsContainer` };
    const result = await make().resolve();
    return "skipped" in result ? { failed: `profile ${profile}: credential_source ${value}: ${result.skipped}` } : result;
  }

  async function assumeRole(profiles: Profiles, profileName: string, visited: Set<string>): Promise<SourceResult> {
    const profile = profiles[profileName]!;
    const sourceName = profile.source_profile;
    let source: SourceResult;
    if (sourceName !== undefined) {
      if (visited.has(sourceName)) return { failed: `profile ${profileName}: source_profile cycle through ${[...visited].join(", ")}` };
      const next = profiles[sourceName];
      if (!next) return { failed: `profile ${profileName}: source_profile ${sourceName} does not exist` };
      // As the SDK: a source profile with static keys gives them, even when it has a role_arn of its own; one with
      // credential_source and no role_arn gives that source's credentials.
      if (isStatic(next)) source = { credentials: staticCredentials(next) };
      else if (next.credential_source && !next.role_arn) source = await fromCredentialSource(next.credential_source, sourceName);
      else source = await resolveProfile(profiles, sourceName, new Set([...visited, sourceName]));
    } else {
      source = await fromCredentialSource(profile.credential_source!, profileName);
    }
    if ("skipped" in source) return { failed: `profile ${profileName}: source_profile ${sourceName}: ${source.skipped}` };
    if ("failed" in source) return source;
    if (profile.mfa_serial) return { failed: `profile ${profileName}: mfa_serial needs an interactive MFA code, which a service cannot give` };
    const region = profile.region || io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION;
    const endpoint = stsEndpoint(io.env, region);
    if (typeof endpoint === "string") return { failed: endpoint };
    const duration = profile.duration_seconds ? Number(profile.duration_seconds) : 3600;
    if (!Number.isInteger(duration)) return { failed: `profile ${profileName}: duration_seconds is not a whole number` };
    const result = await callSts(io, {
      endpoint,
      action: "AssumeRole",
      params: {
        RoleArn: profile.role_arn,
        RoleSessionName: profile.role_session_name || `signpost-${(io.now ?? Date.now)()}`,
        ExternalId: profile.external_id,
        DurationSeconds: String(duration),
      },
      signWith: { signer: options.signer, credentials: source.credentials },
    });
    return typeof result === "string" ? { failed: `profile ${profileName}: ${result}` } : { credentials: result };
  }

  async function resolveProfile(profiles: Profiles, profileName: string, visited: Set<string>): Promise<SourceResult> {
    const profile = profiles[profileName];
    if (!profile) return { skipped: `profile ${profileName} not found` };
    const roleSource = (profile.source_profile === undefined) !== (profile.credential_source === undefined);
    if (profile.role_arn && roleSource) return assumeRole(profiles, profileName, visited);
    if (isStatic(profile)) return { credentials: staticCredentials(profile) };
    if (profile.web_identity_token_file && profile.role_arn) {
      const file = profile.web_identity_token_file;
      const readFile = io.readFile!;
      const result = await webIdentityCredentials(io, {
        roleArn: profile.role_arn,
        token: () => readFile(file),
        tokenSource: `file ${file}`,
        ...(profile.role_session_name ? { roleSessionName: profile.role_session_name } : {}),
        ...(profile.region ? { region: profile.region } : {}),
      });
      return "failed" in result ? { failed: `profile ${profileName}: ${result.failed}` } : result;
    }
    if (profile.credential_process) return processCredentials(io, profile.credential_process, profileName);
    if (Object.keys(profile).some((key) => key.startsWith("sso_") || key === "login_session")) {
      return { failed: `profile ${profileName} uses IAM Identity Center (SSO) or console login, which signpost does not support; use credential_process = aws configure export-credentials --profile ${profileName} --format process` };
    }
    return { skipped: `profile ${profileName} has no credentials` };
  }

  return {
    name,
    async resolve() {
      if (!io.readFile) return { skipped: "this runtime has no file system" };
      const files = await loadSharedFiles({ ...io, readFile: io.readFile });
      const profileName = io.env.AWS_PROFILE || "default";
      const result = await resolveProfile(files.profiles, profileName, new Set([profileName]));
      if ("skipped" in result) {
        const unreadable = files.unreadable.length ? `; cannot read ${files.unreadable.join(", ")}` : "";
        return { skipped: `${result.skipped} in ${files.credentialsFile} or ${files.configFile}${unreadable}` };
      }
      return result;
    },
  };
}
