-- The audit log (core/audit.py; SQLite: m014_audit_log): who changed what, when, with the
-- value before and after. Append-only for everyone: update, delete and truncate are revoked
-- and a trigger refuses them even for the table's owner. Admins read it; the service role
-- appends.
create table if not exists public.audit_log (
  id bigserial primary key,
  created_at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target text not null default '',
  before jsonb,
  after jsonb
);
create index if not exists audit_log_created_idx on public.audit_log (created_at);
alter table public.audit_log enable row level security;
revoke all on table public.audit_log from public, anon, authenticated, service_role;
grant select on table public.audit_log to authenticated;
grant select, insert on table public.audit_log to service_role;
grant usage on sequence public.audit_log_id_seq to service_role;
drop policy if exists audit_log_read_admins on public.audit_log;
create policy audit_log_read_admins on public.audit_log for select to authenticated
  using ((select public.parley_is_admin()));
drop policy if exists audit_log_service_read on public.audit_log;
create policy audit_log_service_read on public.audit_log for select to service_role using (true);
drop policy if exists audit_log_service_append on public.audit_log;
create policy audit_log_service_append on public.audit_log for insert to service_role with check (true);

create or replace function public.parley_audit_log_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'the audit log is append-only' using errcode = 'P0001';
end
$$;
drop trigger if exists audit_log_append_only on public.audit_log;
create trigger audit_log_append_only before update or delete on public.audit_log
  for each row execute function public.parley_audit_log_append_only();
drop trigger if exists audit_log_no_truncate on public.audit_log;
create trigger audit_log_no_truncate before truncate on public.audit_log
  for each statement execute function public.parley_audit_log_append_only();
