"""initial schema

Revision ID: 0001
Revises: 
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('name', name=op.f('uq_campaigns_name'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=512), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('title', name=op.f('uq_documents_title'))
    )
    op.create_table('frameworks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frameworks')),
    sa.UniqueConstraint('name', name=op.f('uq_frameworks_name'))
    )
    op.create_table('load_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.String(length=64), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_load_runs')),
    sa.UniqueConstraint('load_id', name=op.f('uq_load_runs_load_id'))
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('name', 'title', name=op.f('uq_people_name_title'))
    )
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('base_url', sa.String(length=2048), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shows_closure_notice', sa.Boolean(), nullable=False),
    sa.Column('health', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('host', name=op.f('uq_sites_host'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=True),
    sa.Column('unit_type', sa.String(length=64), nullable=True),
    sa.Column('group_name', sa.String(length=64), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('name', name=op.f('uq_units_name'))
    )
    op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_verdict', sa.String(length=32), nullable=True),
    sa.Column('last_good_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('etag', sa.String(length=512), nullable=True),
    sa.Column('last_modified', sa.String(length=128), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_pages_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('url', name=op.f('uq_pages_url'))
    )
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pages_site_id'), ['site_id'], unique=False)

    op.create_table('site_status_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=32), nullable=False),
    sa.Column('to_status', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_status_history_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_status_history'))
    )
    with op.batch_alter_table('site_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_status_history_site_id'), ['site_id'], unique=False)

    op.create_table('unit_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('alias', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_aliases_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_aliases')),
    sa.UniqueConstraint('alias', name=op.f('uq_unit_aliases_alias'))
    )
    with op.batch_alter_table('unit_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_aliases_unit_id'), ['unit_id'], unique=False)

    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('published', sa.Date(), nullable=True),
    sa.Column('published_precision', sa.String(length=8), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('editor', sa.String(length=255), nullable=True),
    sa.Column('column_tag', sa.String(length=255), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('parser_version', sa.String(length=32), nullable=False),
    sa.Column('last_good_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_articles_page_id_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles')),
    sa.UniqueConstraint('page_id', name=op.f('uq_articles_page_id'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_articles_published'), ['published'], unique=False)

    op.create_table('fetches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('load_id', sa.String(length=64), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('final_url', sa.String(length=2048), nullable=True),
    sa.Column('status_chain', sa.JSON(), nullable=False),
    sa.Column('verdict', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('text_length', sa.Integer(), nullable=False),
    sa.Column('main_length', sa.Integer(), nullable=False),
    sa.Column('probe', sa.JSON(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_fetches_page_id_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fetches')),
    sa.UniqueConstraint('page_id', 'load_id', name=op.f('uq_fetches_page_id_load_id'))
    )
    with op.batch_alter_table('fetches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fetches_page_id'), ['page_id'], unique=False)

    op.create_table('article_campaigns',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_campaigns_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_article_campaigns_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('article_id', 'campaign_id', name=op.f('pk_article_campaigns'))
    )
    op.create_table('sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('heading', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_sections_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sections')),
    sa.UniqueConstraint('article_id', 'position', name=op.f('uq_sections_article_id_position'))
    )
    op.create_table('initiatives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=True),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('org_body', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_initiatives_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['section_id'], ['sections.id'], name=op.f('fk_initiatives_section_id_sections'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_initiatives')),
    sa.UniqueConstraint('key', name=op.f('uq_initiatives_key'))
    )
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiatives_article_id'), ['article_id'], unique=False)

    op.create_table('initiative_documents',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_initiative_documents_document_id_documents')),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_initiative_documents_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'document_id', name=op.f('pk_initiative_documents'))
    )
    op.create_table('initiative_frameworks',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_initiative_frameworks_framework_id_frameworks')),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_initiative_frameworks_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('initiative_id', 'framework_id', name=op.f('pk_initiative_frameworks'))
    )
    op.create_table('initiative_people',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_initiative_people_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_initiative_people_person_id_people')),
    sa.PrimaryKeyConstraint('initiative_id', 'person_id', name=op.f('pk_initiative_people'))
    )
    op.create_table('initiative_units',
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('mention', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_initiative_units_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_initiative_units_unit_id_units')),
    sa.PrimaryKeyConstraint('initiative_id', 'unit_id', name=op.f('pk_initiative_units'))
    )
    with op.batch_alter_table('initiative_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initiative_units_unit_id'), ['unit_id'], unique=False)

    op.create_table('metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('object', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_metrics_initiative_id_initiatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metrics')),
    sa.UniqueConstraint('initiative_id', 'position', name=op.f('uq_metrics_initiative_id_position'))
    )


def downgrade() -> None:
    op.drop_table('metrics')
    with op.batch_alter_table('initiative_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiative_units_unit_id'))

    op.drop_table('initiative_units')
    op.drop_table('initiative_people')
    op.drop_table('initiative_frameworks')
    op.drop_table('initiative_documents')
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiatives_article_id'))

    op.drop_table('initiatives')
    op.drop_table('sections')
    op.drop_table('article_campaigns')
    with op.batch_alter_table('fetches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fetches_page_id'))

    op.drop_table('fetches')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_articles_published'))

    op.drop_table('articles')
    with op.batch_alter_table('unit_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_aliases_unit_id'))

    op.drop_table('unit_aliases')
    with op.batch_alter_table('site_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_status_history_site_id'))

    op.drop_table('site_status_history')
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pages_site_id'))

    op.drop_table('pages')
    op.drop_table('units')
    op.drop_table('sites')
    op.drop_table('people')
    op.drop_table('load_runs')
    op.drop_table('frameworks')
    op.drop_table('documents')
    op.drop_table('campaigns')
