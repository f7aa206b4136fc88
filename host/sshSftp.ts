// The ssh connection's one SFTP session (the Docker host's files: the Traefik file, checks),
// opened on first use and forgotten when it ends, so the next use opens a new one.
import type ssh2 from "ssh2";
import type { SFTPWrapper } from "ssh2";
import { RefusedError } from "../controller/errors.js";

type Client = InstanceType<typeof ssh2.Client>;

export class SftpSession {
  private session: Promise<SFTPWrapper> | undefined;

  /** `host`: the Docker host's name, for the refusal's message. */
  constructor(private readonly host: string) {}

  /** The session on `conn`, opened on first use. */
  open(conn: Client): Promise<SFTPWrapper> {
    if (this.session) return this.session;
    // Forgotten when it ends, unless a newer session (a new connection's) took its place.
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    const session = new Promise<SFTPWrapper>((resolve, reject) =>
      conn.sftp((err, sftp) => {
        if (!err) {
          sftp.once("close", forget);
          return resolve(sftp);
        }
        // Refused: the first SFTP request is the preflight's read or writability check,
        // before anything changed.
        reject(
          new RefusedError(
            `ssh: ${this.host} offers no SFTP (${err.message}); compose-roll writes the Traefik file through it`,
            `enable it in ${this.host}'s sshd_config: Subsystem sftp internal-sftp (Debian's default has it)`,
          ),
        );
      }),
    );
    // A refusal, or conn.sftp() throwing at once (the socket just closed): never kept.
    session.catch(forget);
    this.session = session;
    return session;
  }

  /** Its connection was lost: the next open() starts a new session. */
  forget(): void {
    this.session = undefined;
  }
}
