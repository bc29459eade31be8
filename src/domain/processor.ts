// Processor records: built-in processors "work" for a job's duration inside the server;
// remote ones claim jobs over the API.

export type ProcessorKind = 'BUILTIN' | 'REMOTE';
export type ProcessorState = 'IDLE' | 'BUSY' | 'DRAINING' | 'OFFLINE';

export interface ProcessorRecord {
  id: string;
  name: string;
  kind: ProcessorKind;
  state: ProcessorState;
  jobsCompleted: number;
  busyMs: number;
  createdAt: Date;
  removedAt: Date | null;
  /** Remote processors: the user that registered it. */
  ownerId: string | null;
}
