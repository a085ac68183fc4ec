/** The fields of Heroku Platform API answers that publish and yank read (heroku/platform-api schema: build, release). */
export interface Build {
  id: string;
  status: string;
  source_blob?: { checksum?: string | null; version?: string | null };
  release?: { id: string } | null;
}

export interface Release {
  id: string;
  version: number;
  status: string;
  current?: boolean;
  description?: string;
  slug?: { id?: string } | null;
  eligible_for_rollback?: boolean;
}
