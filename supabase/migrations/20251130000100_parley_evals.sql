-- Parley: evaluations on real work (core/evals). Versioned prompt templates and datasets
-- (a save is a new version; nothing is updated in place), runs, one result per row x model,
-- blind row votes, and the preference decisions taken from a run.
-- Reads: any signed-in user may open a run, its results and the templates and datasets it
-- used (a shared link is read-only); writes go through the service role, except a user's
-- own votes. request_logs.eval_run_id is generated from the call's metadata, so
-- parley_record_calls is unchanged.

create table if not exists public.prompt_templates (
  id bigint generated always as identity primary key,
  name text not null,
  version integer not null check (version >= 1),
  service_type text,
  system text,
  template text not null,
  variables jsonb not null default '[]'::jsonb,
  settings jsonb not null default '{}'::jsonb,
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (name, version)
);

create table if not exists public.datasets (
  id bigint generated always as identity primary key,
  name text not null,
  version integer not null check (version >= 1),
  columns jsonb not null,
  rows jsonb not null,
  row_count integer not null,
  digest text not null,
  source text not null default 'upload',
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (name, version)
);

create table if not exists public.eval_runs (
  id text primary key,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  created_by text not null,
  template_id bigint not null references public.prompt_templates (id),
  dataset_id bigint not null references public.datasets (id),
  service_type text not null,
  models jsonb not null,
  judge jsonb,
  checks jsonb not null default '[]'::jsonb,
  concurrency integer not null check (concurrency between 1 and 64),
  estimate numeric,
  status text not null check (status in ('pending', 'running', 'cancelled', 'stopped', 'done')),
  note text
);
create index if not exists eval_runs_user_created_idx on public.eval_runs (created_by, created_at desc);

create table if not exists public.eval_results (
  run_id text not null references public.eval_runs (id) on delete cascade,
  row_index integer not null,
  model text not null,
  created_at timestamptz not null default now(),
  status text not null check (status in ('success', 'failure')),
  answer text,
  call_id text,
  served_by text,
  cost numeric,
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  response_time_ms double precision,
  error text,
  checks jsonb not null default '{}'::jsonb,
  passed boolean,
  judge_score double precision,
  judge_reason text,
  judge_call_id text,
  judge_cost numeric,
  primary key (run_id, row_index, model)
);

create table if not exists public.eval_votes (
  run_id text not null references public.eval_runs (id) on delete cascade,
  row_index integer not null,
  user_id text not null,
  models jsonb not null,
  winner text,
  created_at timestamptz not null default now(),
  primary key (run_id, row_index, user_id, models)
);

create table if not exists public.eval_decisions (
  id bigint generated always as identity primary key,
  run_id text not null references public.eval_runs (id),
  user_id text not null,                          -- '*' = every user without their own override
  service_type text not null,
  model text not null,
  decided_by text not null,
  created_at timestamptz not null default now()
);
create index if not exists eval_decisions_user_service_idx
  on public.eval_decisions (user_id, service_type, created_at desc);

alter table public.request_logs add column if not exists eval_run_id text
  generated always as (metadata ->> 'eval_run_id') stored;
create index if not exists request_logs_eval_run_idx on public.request_logs (eval_run_id)
  where eval_run_id is not null;

do $$
declare t text;
begin
  foreach t in array array['prompt_templates', 'datasets', 'eval_runs', 'eval_results',
                           'eval_votes', 'eval_decisions'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated', t);
    execute format('grant select on table public.%I to authenticated', t);
    execute format('grant select, insert, update, delete on table public.%I to service_role', t);
    execute format('drop policy if exists %I on public.%I', t || '_read_signed_in', t);
    execute format('create policy %I on public.%I for select to authenticated using (true)',
                   t || '_read_signed_in', t);
    execute format('drop policy if exists %I on public.%I', t || '_service', t);
    execute format('create policy %I on public.%I for all to service_role using (true) '
                   'with check (true)', t || '_service', t);
  end loop;
end $$;

grant insert, update on table public.eval_votes to authenticated;
drop policy if exists eval_votes_insert_own on public.eval_votes;
create policy eval_votes_insert_own on public.eval_votes for insert to authenticated
  with check (user_id = (select public.parley_current_user_id()));
drop policy if exists eval_votes_update_own on public.eval_votes;
create policy eval_votes_update_own on public.eval_votes for update to authenticated
  using (user_id = (select public.parley_current_user_id()))
  with check (user_id = (select public.parley_current_user_id()));

-- A decision for everyone is stored as the preferences of user '*': every signed-in user
-- reads those (their calls follow them); only admins write them (through the service role).
drop policy if exists user_preferences_read_everyone on public.user_preferences;
create policy user_preferences_read_everyone on public.user_preferences for select to authenticated
  using (user_id = '*');
